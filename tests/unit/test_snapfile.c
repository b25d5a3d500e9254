/* The state file format: round trip, lazily mappable memory, and damaged files refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "harness.h"
#include "state/snapfile.h"

static char *tmp_path(void)
{
    char *p = strdup("/tmp/vessel-snapfile-XXXXXX");
    int fd = mkstemp(p);

    close(fd);
    return p;
}

static int write_sample(const char *path, uint8_t *mem, size_t memlen)
{
    struct snap_writer w;
    const char cfg[] = "{\"cpus\":2}";
    uint64_t cpu0[4] = {1, 2, 3, 4}, cpu1[4] = {5, 6, 7, 8};
    int err = snap_writer_open(&w, path, "rv64", "riscv64");

    if (err)
        return err;
    if ((err = snap_write_section(&w, SNAP_CONFIG, 0, "config", cfg, sizeof(cfg))) ||
        (err = snap_write_section(&w, SNAP_CPU, 0, "hart", cpu0, sizeof(cpu0))) ||
        (err = snap_write_section(&w, SNAP_CPU, 1, "hart", cpu1, sizeof(cpu1))) ||
        (err = snap_write_section(&w, SNAP_DEVICE, 0, "uart", "\x01\x02\x03", 3)) ||
        (err = snap_write_memory(&w, 0, mem, memlen, -1))) {
        snap_writer_abort(&w);
        return err;
    }
    return snap_writer_finish(&w);
}

static void flip_byte(const char *path, long off)
{
    int fd = open(path, O_RDWR);
    uint8_t b;

    CHECK(pread(fd, &b, 1, off) == 1);
    b ^= 0x40;
    CHECK(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

TEST(snapfile_round_trip_and_lazy_memory)
{
    char *path = tmp_path();
    size_t memlen = 3 * 4096 + 100;
    uint8_t *mem = malloc(memlen), *map;
    struct snap_reader r;
    const struct snap_section *s;
    uint64_t cpu[4];
    char cfg[32];

    for (size_t i = 0; i < memlen; i++)
        mem[i] = (uint8_t)(i * 7);
    CHECK_EQ(write_sample(path, mem, memlen), 0);
    CHECK_EQ(snap_reader_open(&r, path), 0);
    CHECK(!strcmp(r.engine, "rv64"));
    CHECK(!strcmp(r.arch, "riscv64"));
    CHECK_EQ(r.nsec, 5);
    s = snap_find(&r, SNAP_CPU, 1, "hart");
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(snap_read_payload(&r, s, cpu, sizeof(cpu)), 0);
        CHECK_EQ(cpu[0], 5);
        CHECK_EQ(cpu[3], 8);
        CHECK_EQ(snap_read_payload(&r, s, cpu, 8), -EINVAL); /* wrong length */
    }
    s = snap_find(&r, SNAP_CONFIG, 0, NULL);
    CHECK(s && s->length == 11);
    if (s)
        CHECK_EQ(snap_read_payload(&r, s, cfg, s->length), 0);
    CHECK(!strcmp(cfg, "{\"cpus\":2}"));
    CHECK(snap_find(&r, SNAP_DEVICE, 0, "plic") == NULL);
    /* memory starts on a page boundary: map it copy-on-write and compare */
    s = snap_find(&r, SNAP_MEMORY, 0, NULL);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(s->offset % 4096, 0);
        CHECK_EQ(s->length, memlen);
        map = mmap(NULL, memlen, PROT_READ | PROT_WRITE, MAP_PRIVATE, r.fd, (off_t)s->offset);
        CHECK(map != MAP_FAILED);
        if (map != MAP_FAILED) {
            CHECK(!memcmp(map, mem, memlen));
            map[0] ^= 1; /* private: the file stays as it was */
            munmap(map, memlen);
        }
        CHECK_EQ(snap_verify_memory(&r, s), 0);
    }
    snap_reader_close(&r);
    unlink(path);
    free(path);
    free(mem);
}

TEST(snapfile_damage_refused)
{
    char *path = tmp_path();
    uint8_t mem[8192] = {1};
    struct snap_reader r;

    /* a damaged device payload */
    CHECK_EQ(write_sample(path, mem, sizeof(mem)), 0);
    flip_byte(path, 64 + 48 + 11 + 48 + 2);
    CHECK_EQ(snap_reader_open(&r, path), -EBADMSG);
    /* a damaged header */
    CHECK_EQ(write_sample(path, mem, sizeof(mem)), 0);
    flip_byte(path, 20);
    CHECK_EQ(snap_reader_open(&r, path), -EBADMSG);
    /* another format version, with a valid header checksum: refused as a version problem */
    CHECK_EQ(write_sample(path, mem, sizeof(mem)), 0);
    {
        uint8_t h[64];
        uint32_t c;
        int fd = open(path, O_RDWR);
        CHECK(pread(fd, h, sizeof(h), 0) == sizeof(h));
        h[8] = 2;
        c = (uint32_t)crc32(0, h, 60);
        for (int i = 0; i < 4; i++)
            h[60 + i] = (uint8_t)(c >> (8 * i));
        CHECK(pwrite(fd, h, sizeof(h), 0) == sizeof(h));
        close(fd);
    }
    CHECK_EQ(snap_reader_open(&r, path), -EPROTO);
    /* truncated: no END section */
    CHECK_EQ(write_sample(path, mem, sizeof(mem)), 0);
    CHECK_EQ(truncate(path, 64 + 48 + 5), 0);
    CHECK_EQ(snap_reader_open(&r, path), -EBADMSG);
    /* not a state file at all */
    CHECK_EQ(truncate(path, 0), 0);
    CHECK_EQ(snap_reader_open(&r, path), -ENOEXEC);
    /* damaged memory is caught by the explicit check */
    CHECK_EQ(write_sample(path, mem, sizeof(mem)), 0);
    CHECK_EQ(snap_reader_open(&r, path), 0);
    {
        const struct snap_section *s = snap_find(&r, SNAP_MEMORY, 0, NULL);
        CHECK(s != NULL);
        if (s) {
            flip_byte(path, (long)s->offset + 100);
            CHECK_EQ(snap_verify_memory(&r, s), -EBADMSG);
        }
    }
    snap_reader_close(&r);
    unlink(path);
    free(path);
}

TEST(snapfile_sparse_memory_from_memfd)
{
    char *path = tmp_path();
    size_t len = 64 * 4096;
    int mfd = memfd_create("snapfile-test", 0);
    uint8_t *ram, *back = malloc(len);
    struct snap_writer w;
    struct snap_reader r;
    const struct snap_section *s;
    struct stat st;

    CHECK(mfd >= 0 && ftruncate(mfd, (off_t)len) == 0);
    ram = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    CHECK(ram != MAP_FAILED);
    /* data in pages 0, 7-8 and 63; everything else never touched (holes in the memfd) */
    memset(ram, 0x11, 4096);
    memset(ram + 7 * 4096 + 100, 0x22, 6000);
    memset(ram + 63 * 4096, 0x33, 4096);
    CHECK_EQ(snap_writer_open(&w, path, "rv64", "riscv64"), 0);
    CHECK_EQ(snap_write_section(&w, SNAP_CONFIG, 0, "config", "{}", 2), 0);
    CHECK_EQ(snap_write_memory(&w, 0, ram, len, mfd), 0);
    CHECK_EQ(snap_write_section(&w, SNAP_DEVICE, 0, "uart", "u", 1), 0);
    CHECK_EQ(snap_writer_finish(&w), 0);
    CHECK_EQ(snap_reader_open(&r, path), 0);
    s = snap_find(&r, SNAP_MEMORY, 0, NULL);
    CHECK(s != NULL);
    if (s) {
        CHECK_EQ(s->offset % 4096, 0);
        CHECK_EQ(snap_verify_memory(&r, s), 0); /* the CRC covers the holes as zeroes */
        CHECK_EQ(snap_read_payload(&r, s, back, len), 0);
        CHECK(!memcmp(back, ram, len));
    }
    CHECK(snap_find(&r, SNAP_DEVICE, 0, "uart") != NULL); /* sections after memory are found */
    CHECK_EQ(stat(path, &st), 0);
    CHECK((uint64_t)st.st_blocks * 512 < len); /* holes were not written */
    snap_reader_close(&r);
    munmap(ram, len);
    close(mfd);
    unlink(path);
    free(path);
    free(back);
}
