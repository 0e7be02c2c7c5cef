# The seed's first program with fixed sleeps instead of randint(5, 10), so that
# total - longest is the overhead of multiprocessing alone. Usage: python3 download.py 1 2
import sys
from multiprocessing import Process
from os import getpid
from time import time, sleep


def download_task(filename, time_to_download):
    print('启动下载进程，进程号[%d].' % getpid())
    print('开始下载%s...' % filename)
    sleep(time_to_download)
    print('%s下载完成! 耗费了%d秒' % (filename, time_to_download))


def main(first, second):
    start = time()
    p1 = Process(target=download_task, args=('Python从入门到住院.pdf', first))
    p1.start()
    p2 = Process(target=download_task, args=('Peking Hot.avi', second))
    p2.start()
    p1.join()
    p2.join()
    end = time()
    print('总共耗费了%.2f秒.' % (end - start))
    # For the bench: the same total at full precision.
    print('TOTAL %.6f' % (end - start))


if __name__ == '__main__':
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 1, float(sys.argv[2]) if len(sys.argv) > 2 else 2)
