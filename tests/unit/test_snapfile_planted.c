/* The snapshot writer against files planted in its directory (issue 13, defect 1): a symbolic
 * link, a world-writable file or a FIFO at the final name or at the old temporary name is never
 * followed, written or waited on; the finished file is a new one of mode 0600. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "state/snapfile.h"

static char *tmp_dir(void)
{
    char *d = strdup("/tmp/vessel-planted-XXXXXX");

    CHECK(mkdtemp(d) != NULL);
    return d;
}

static char *join(const char *dir, const char *name)
{
    char *p;

    CHECK(asprintf(&p, "%s/%s", dir, name) > 0);
    return p;
}

/* A small complete state file at path: 0 or -errno. */
static int write_small(const char *path)
{
    struct snap_writer w;
    int err = snap_writer_open(&w, path, "rv64", "riscv64");

    if (err)
        return err;
    err = snap_write_section(&w, SNAP_CONFIG, 0, "config", "{}", 2);
    if (err) {
        snap_writer_abort(&w);
        return err;
    }
    return snap_writer_finish(&w);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    CHECK(chmod(path, mode) == 0);
}

static bool file_is(const char *path, const char *text)
{
    char buf[256] = {0};
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

    if (fd >= 0)
        close(fd);
    return n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n);
}

/* Entries of dir other than . and ..; a writer leaves none of its temporary files behind. */
static int count_entries(const char *dir)
{
    char *cmd;
    int n = -1;
    FILE *f;

    CHECK(asprintf(&cmd, "ls -A '%s' | wc -l", dir) > 0);
    f = popen(cmd, "r");
    if (f && fscanf(f, "%d", &n) != 1)
        n = -1;
    if (f)
        pclose(f);
    free(cmd);
    return n;
}

static void cleanup(char *dir)
{
    char *cmd;

    CHECK(asprintf(&cmd, "rm -rf '%s'", dir) > 0);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(dir);
}

TEST(snapfile_planted_symlink_is_not_followed)
{
    char *dir = tmp_dir(), *victim = join(dir, "victim"), *snap = join(dir, "vm.snap");
    char *tmp = join(dir, "vm.snap.tmp");
    struct stat st;

    write_text(victim, "precious", 0644);
    /* at the final name: refused, the link's target untouched */
    CHECK(symlink(victim, snap) == 0);
    CHECK_EQ(write_small(snap), -EEXIST);
    CHECK(file_is(victim, "precious"));
    CHECK(lstat(snap, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_EQ(count_entries(dir), 2);
    /* at the old temporary name: not used at all, the snapshot is written */
    CHECK(unlink(snap) == 0);
    CHECK(symlink(victim, tmp) == 0);
    CHECK_EQ(write_small(snap), 0);
    CHECK(file_is(victim, "precious"));
    CHECK(lstat(snap, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_EQ(count_entries(dir), 3);
    /* a dangling link at the final name: refused too (it would name a file elsewhere) */
    CHECK(unlink(snap) == 0);
    CHECK(symlink("/nonexistent/vessel-planted", snap) == 0);
    CHECK_EQ(write_small(snap), -EEXIST);
    free(tmp);
    free(snap);
    free(victim);
    cleanup(dir);
}

TEST(snapfile_planted_world_writable_file_is_not_reused)
{
    char *dir = tmp_dir(), *snap = join(dir, "vm.snap"), *tmp = join(dir, "vm.snap.tmp");
    struct stat st, before;
    struct snap_reader r;

    /* a 0666 file at the old temporary name: left alone, not written, not renamed */
    write_text(tmp, "", 0666);
    CHECK_EQ(write_small(snap), 0);
    CHECK(stat(tmp, &st) == 0 && st.st_size == 0 && (st.st_mode & 0777) == 0666);
    CHECK(stat(snap, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_uid == getuid());
    CHECK_EQ(snap_reader_open(&r, snap), 0);
    snap_reader_close(&r);
    /* a 0666 file at the final name: replaced by a new 0600 file, not written through */
    CHECK(unlink(snap) == 0);
    write_text(snap, "", 0666);
    CHECK(stat(snap, &before) == 0);
    CHECK_EQ(write_small(snap), 0);
    CHECK(stat(snap, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_ino != before.st_ino);
    CHECK_EQ(count_entries(dir), 2);
    free(tmp);
    free(snap);
    cleanup(dir);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "snapfile_planted_fifo: blocked on a FIFO\n";
    write(2, msg, sizeof(msg) - 1);
    _exit(3);
}

TEST(snapfile_planted_fifo_fails_fast)
{
    char *dir = tmp_dir(), *snap = join(dir, "vm.snap"), *tmp = join(dir, "vm.snap.tmp");
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    struct snap_reader r;
    struct stat st;

    /* Blocking on any of these would hang: the alarm ends the test run instead. */
    sigaction(SIGALRM, &sa, &old);
    alarm(60);
    CHECK(mkfifo(snap, 0666) == 0);
    CHECK_EQ(write_small(snap), -EEXIST);
    CHECK(lstat(snap, &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(snap_reader_open(&r, snap) < 0); /* a restore from it: refused, not waited on */
    CHECK(unlink(snap) == 0);
    CHECK(mkfifo(tmp, 0666) == 0);
    CHECK_EQ(write_small(snap), 0);
    CHECK(lstat(tmp, &st) == 0 && S_ISFIFO(st.st_mode));
    /* a directory at the final name */
    CHECK(unlink(snap) == 0);
    CHECK(mkdir(snap, 0700) == 0);
    CHECK_EQ(write_small(snap), -EEXIST);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    free(tmp);
    free(snap);
    cleanup(dir);
}

TEST(snapfile_link_planted_before_the_rename_is_refused)
{
    char *dir = tmp_dir(), *victim = join(dir, "victim"), *snap = join(dir, "vm.snap");
    struct snap_writer w;
    struct stat st;

    write_text(victim, "precious", 0644);
    CHECK_EQ(snap_writer_open(&w, snap, "rv64", "riscv64"), 0);
    CHECK_EQ(snap_write_section(&w, SNAP_CONFIG, 0, "config", "{}", 2), 0);
    CHECK(symlink(victim, snap) == 0); /* planted while the file was being written */
    CHECK_EQ(snap_writer_finish(&w), -EEXIST);
    CHECK(file_is(victim, "precious"));
    CHECK(lstat(snap, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_EQ(count_entries(dir), 2); /* the temporary file is gone */
    free(snap);
    free(victim);
    cleanup(dir);
}
