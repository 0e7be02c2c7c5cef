// threadkit's one native piece: memory shared between processes, futex waits on it, and a
// child's request to die with its parent.
//
// A SharedArrayBuffer cannot cross fork(), and V8 keeps Atomics.wait's waiter lists per
// process. This addon maps a file of /dev/shm into every process that asks (MAP_SHARED), as an
// ArrayBuffer on which Atomics compare-and-swap works across processes, and gives the wait and
// wake that Atomics cannot: Linux futexes on the shared mapping (not FUTEX_PRIVATE), which the
// kernel matches by physical page, so a wake in one process reaches a waiter in another.
//
// Async waits run on a thread of their own (not libuv's pool of 4, where a hundred parked
// waiters would queue behind each other) and resolve a promise through a thread-safe function;
// they do not hold the event loop open (the JavaScript side does, while it waits for them).
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHECK(call) do { if ((call) != napi_ok) return NULL; } while (0)

static napi_value throw_errno(napi_env env, const char* what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  napi_throw_error(env, "TK_SHM", msg);
  return NULL;
}

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

// map(path, size): the file (created if missing, grown to size) mapped shared, as an ArrayBuffer.
static napi_value map(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
  int64_t size;
  CHECK(napi_get_value_int64(env, argv[1], &size));
  if (size <= 0) { napi_throw_range_error(env, "TK_SHM", "size must be positive"); return NULL; }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return throw_errno(env, "open");
  struct stat st;
  if (fstat(fd, &st) < 0) { close(fd); return throw_errno(env, "fstat"); }
  if (st.st_size < size && ftruncate(fd, size) < 0) { close(fd); return throw_errno(env, "ftruncate"); }
  void* p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return throw_errno(env, "mmap");
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, (size_t)size, unmap, (void*)(uintptr_t)size, &ab) != napi_ok) {
    munmap(p, (size_t)size);
    return NULL;
  }
  return ab;
}

static int32_t* word(napi_env env, napi_value buffer, napi_value offset) {
  void* data;
  size_t length;
  int64_t off;
  if (napi_get_arraybuffer_info(env, buffer, &data, &length) != napi_ok) return NULL;
  if (napi_get_value_int64(env, offset, &off) != napi_ok) return NULL;
  if (off < 0 || off % 4 != 0 || (size_t)off + 4 > length) {
    napi_throw_range_error(env, "TK_SHM", "offset out of range or not 4-aligned");
    return NULL;
  }
  return (int32_t*)((char*)data + off);
}

// 0: woken ("ok"), 1: the word did not hold `expected` ("not-equal"), 2: "timed-out".
static int futex_wait(int32_t* addr, int32_t expected, double timeout_ms) {
  struct timespec deadline, rel, *prel = NULL;
  if (timeout_ms >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    long long ns = deadline.tv_nsec + (long long)(timeout_ms * 1e6);
    deadline.tv_sec += ns / 1000000000LL;
    deadline.tv_nsec = ns % 1000000000LL;
  }
  for (;;) {
    if (timeout_ms >= 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long long left = (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
      if (left <= 0) return 2;
      rel.tv_sec = left / 1000000000LL;
      rel.tv_nsec = left % 1000000000LL;
      prel = &rel;
    }
    long r = syscall(SYS_futex, addr, FUTEX_WAIT, expected, prel, NULL, 0);
    if (r == 0) return 0;
    if (errno == EAGAIN) return 1;
    if (errno == ETIMEDOUT) return 2;
    if (errno != EINTR) return 0;  // treat anything else as a spurious wake: callers re-check
  }
}

static double timeout_arg(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return -1;
  double ms;
  napi_get_value_double(env, v, &ms);
  return ms;
}

// wait(buffer, byteOffset, expected, timeoutMs?): blocks this thread.
static napi_value wait_sync(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t* addr = word(env, argv[0], argv[1]);
  if (!addr) return NULL;
  int32_t expected;
  CHECK(napi_get_value_int32(env, argv[2], &expected));
  double ms = argc > 3 ? timeout_arg(env, argv[3]) : -1;
  napi_value out;
  CHECK(napi_create_int32(env, futex_wait(addr, expected, ms), &out));
  return out;
}

// wake(buffer, byteOffset, count): wakes up to count waiters in any process; returns how many.
static napi_value wake(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t* addr = word(env, argv[0], argv[1]);
  if (!addr) return NULL;
  double count;
  CHECK(napi_get_value_double(env, argv[2], &count));
  int n = count >= 2147483647.0 ? 2147483647 : (int)count;
  long r = syscall(SYS_futex, addr, FUTEX_WAKE, n, NULL, NULL, 0);
  napi_value out;
  CHECK(napi_create_int32(env, r < 0 ? 0 : (int32_t)r, &out));
  return out;
}

typedef struct {
  int32_t* addr;
  int32_t expected;
  double ms;
  int result;
  napi_deferred deferred;
  napi_threadsafe_function tsfn;
  napi_ref buffer;  // keeps the mapping alive while the thread waits on it
  // The thread-safe function is freed when the environment ends (the program exits, a worker
  // stops) even while the wait thread still holds it, since nothing holds the loop open for a
  // wait the program no longer needs. `closed`, read and written under `mu`, tells the thread
  // not to call it then; the struct is freed by whichever of the two lets go of it last.
  pthread_mutex_t mu;
  int closed;
  int refs;
} AsyncWait;

static void let_go(AsyncWait* w) {
  pthread_mutex_lock(&w->mu);
  int left = --w->refs;
  pthread_mutex_unlock(&w->mu);
  if (left == 0) {
    pthread_mutex_destroy(&w->mu);
    free(w);
  }
}

static void settle(napi_env env, napi_value js_cb, void* context, void* data) {
  (void)js_cb;
  (void)context;
  AsyncWait* w = data;
  if (env) {
    napi_value v;
    napi_create_int32(env, w->result, &v);
    napi_resolve_deferred(env, w->deferred, v);
    napi_delete_reference(env, w->buffer);
  }
}

// Runs on the JS thread when the thread-safe function is freed: after the wait settled, or
// when the environment ends first.
static void finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  AsyncWait* w = data;
  pthread_mutex_lock(&w->mu);
  w->closed = 1;
  pthread_mutex_unlock(&w->mu);
  let_go(w);
}

static void* wait_thread(void* arg) {
  AsyncWait* w = arg;
  w->result = futex_wait(w->addr, w->expected, w->ms);
  pthread_mutex_lock(&w->mu);
  if (!w->closed) {
    napi_call_threadsafe_function(w->tsfn, w, napi_tsfn_blocking);
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_release);
  }
  pthread_mutex_unlock(&w->mu);
  let_go(w);
  return NULL;
}

// waitAsync(buffer, byteOffset, expected, timeoutMs?): a promise of the same result codes.
static napi_value wait_async(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t* addr = word(env, argv[0], argv[1]);
  if (!addr) return NULL;
  AsyncWait* w = calloc(1, sizeof *w);
  if (!w) { napi_throw_error(env, "TK_SHM", "out of memory"); return NULL; }
  pthread_mutex_init(&w->mu, NULL);
  w->refs = 2;
  w->addr = addr;
  CHECK(napi_get_value_int32(env, argv[2], &w->expected));
  w->ms = argc > 3 ? timeout_arg(env, argv[3]) : -1;
  napi_value promise, name;
  CHECK(napi_create_promise(env, &w->deferred, &promise));
  CHECK(napi_create_reference(env, argv[0], 1, &w->buffer));
  CHECK(napi_create_string_utf8(env, "threadkit-futex-wait", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, w, finalize, NULL, settle, &w->tsfn));
  // The wait does not hold the event loop open by itself: the caller does that while it still
  // cares about the result (atomics.ts). A wait it has stopped caring about (its waiter was
  // woken another way) then cannot keep a finished program alive until the futex times out.
  CHECK(napi_unref_threadsafe_function(env, w->tsfn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  int rc = pthread_create(&thread, &attr, wait_thread, w);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    // The finalizer lets go of the struct once; the thread that never started, of the other hold.
    pthread_mutex_lock(&w->mu);
    w->refs--;
    pthread_mutex_unlock(&w->mu);
    napi_release_threadsafe_function(w->tsfn, napi_tsfn_abort);
    errno = rc;
    return throw_errno(env, "pthread_create");
  }
  return promise;
}

// dieWithParent(): the kernel sends SIGKILL to this process when the thread that forked it
// ends, however it ends, even while this process's own threads are all busy. Returns the
// parent pid seen after the request, so the caller can tell whether the parent already died.
static napi_value die_with_parent(napi_env env, napi_callback_info info) {
  (void)info;
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) return throw_errno(env, "prctl");
  napi_value out;
  CHECK(napi_create_int32(env, (int32_t)getppid(), &out));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"map", NULL, map, NULL, NULL, NULL, napi_default, NULL},
    {"wait", NULL, wait_sync, NULL, NULL, NULL, napi_default, NULL},
    {"wake", NULL, wake, NULL, NULL, NULL, napi_default, NULL},
    {"waitAsync", NULL, wait_async, NULL, NULL, NULL, napi_default, NULL},
    {"dieWithParent", NULL, die_with_parent, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
