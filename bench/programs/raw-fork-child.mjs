// The child of raw-fork-download.ts: the seed's download task, nothing else.
const [filename, seconds] = process.argv.slice(2);
console.log(`启动下载进程，进程号[${process.pid}].`);
console.log(`开始下载${filename}...`);
setTimeout(() => console.log(`${filename}下载完成! 耗费了${seconds}秒`), Number(seconds) * 1000);
