/* Vessel's state format, shared by snapshots and live migration (docs/state-format.md): a
 * header naming the engine and architecture, then typed sections (machine config, each CPU's
 * state, each device's state, guest memory), each with its length and CRC-32, closed by an END
 * section. Memory payloads start on a page boundary so that a restore can map them
 * copy-on-write instead of reading them. */
#ifndef VESSEL_STATE_SNAPFILE_H
#define VESSEL_STATE_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hmac256.h"

#define SNAP_VERSION 1

enum snap_type {
    SNAP_CONFIG = 1,  /* the machine configuration, JSON text */
    SNAP_MACHINE = 2, /* machine-wide engine state (e.g. rv64 mtime) */
    SNAP_CPU = 3,     /* one vCPU's complete state; instance = vCPU index */
    SNAP_DEVICE = 4,  /* one device's state; name says which, instance which one */
    SNAP_MEMORY = 5,  /* guest RAM; instance = memory slot; page-aligned payload */
    SNAP_PAGES = 6,   /* migration streams only: le64 offset in memory slot `instance`, then
                       * whole pages of it */
    SNAP_SYNC = 7,    /* migration streams only, empty: the receiver answers "synced" */
    SNAP_END = 0x454e44,
};

#define SNAP_NAME_LEN      16
#define SNAP_FILE_HDR_SIZE 64
#define SNAP_SEC_HDR_SIZE  48

struct snap_writer {
    int fd;
    uint64_t pos;
    /* A file (NULL/-1 for a stream, snap_writer_open_fd): its directory, held open so that the
     * temporary file and the rename stay in it, and the two names in that directory. */
    char *path, *tmp_path;
    int dirfd;
    char *base, *tmp_base;
    struct snap_mac *mac; /* a stream with a tag after each unit (below), or NULL */
};

/* A stream's integrity (migration): after its file header and after every section the writer
 * sends a tag, HMAC-SHA256 under key of (le64 seq, the header, the payload), seq counting the
 * header and sections from 0; the reader (snap_mac_begin ... snap_mac_check) recomputes it. A
 * section dropped, repeated, reordered, altered or spliced in from another stream fails. */
#define SNAP_MAC_LEN 32
struct snap_mac {
    struct hmac256 key;
    uint64_t seq;
};

/* Starts the tag of the next unit (the sequence number goes in first). */
void snap_mac_begin(struct snap_mac *m);
void snap_mac_update(struct snap_mac *m, const void *data, uint64_t len);
/* Ends the unit: its tag into tag (SNAP_MAC_LEN bytes); the sequence number advances. */
void snap_mac_end(struct snap_mac *m, uint8_t tag[SNAP_MAC_LEN]);
/* Ends the unit and compares (in constant time) with the tag received; true when equal. */
bool snap_mac_check(struct snap_mac *m, const uint8_t tag[SNAP_MAC_LEN]);

/* Starts a state file at path. The file is built as a new temporary file beside it
 * (path.tmp-RANDOM: created exclusively with mode 0600, never through a symbolic link, so a
 * file, link or FIFO planted in the directory is neither followed, written nor waited on) and
 * renamed into place by snap_writer_commit. An existing path that is not a regular file (a
 * symbolic link, FIFO, device, directory) is refused (-EEXIST, logged), before anything is
 * written and again before the rename. */
int snap_writer_open(struct snap_writer *w, const char *path, const char *engine, const char *arch);
/* Starts a state stream on fd (a socket or an anonymous file) that the caller owns: no
 * temporary name, no rename; finish with snap_writer_end. Sections are written with write(),
 * so a socket's send timeout bounds every call. */
int snap_writer_open_fd(struct snap_writer *w, int fd, const char *engine, const char *arch);
/* The same, with every header and section followed by mac's tag. */
int snap_writer_open_mac(struct snap_writer *w, int fd, const char *engine, const char *arch,
                         struct snap_mac *mac);
int snap_write_section(struct snap_writer *w, enum snap_type type, uint32_t instance,
                       const char *name, const void *data, uint64_t len);
/* A section whose payload is a (alen bytes) followed by b (blen bytes), e.g. a SNAP_PAGES
 * offset and the pages themselves, written without copying them together. */
int snap_write_section2(struct snap_writer *w, enum snap_type type, uint32_t instance,
                        const char *name, const void *a, uint64_t alen, const void *b,
                        uint64_t blen);
/* Writes a memory section whose payload starts on a 4 KiB boundary of the file. With
 * memfd >= 0 (the file behind mem, as mapped), ranges the memfd has never populated are left
 * as holes of the state file instead of being written: they read as zeroes either way. */
int snap_write_memory(struct snap_writer *w, uint32_t instance, const void *mem, uint64_t len,
                      int memfd);
/* Adds the END section: the file is complete but not yet durable nor under its final name. */
int snap_writer_end(struct snap_writer *w);
/* Syncs the file and renames it into place (after snap_writer_end; a snapshot lets the VM
 * run again between the two). */
int snap_writer_commit(struct snap_writer *w);
/* snap_writer_end, then snap_writer_commit. */
int snap_writer_finish(struct snap_writer *w);
/* Removes the partial file (after a failure, or to cancel). */
void snap_writer_abort(struct snap_writer *w);

struct snap_section {
    uint32_t type, instance;
    char name[SNAP_NAME_LEN + 1];
    uint64_t length, offset; /* payload bytes and where they start in the file */
    uint32_t crc;
};

struct snap_reader {
    int fd;
    uint64_t file_size;
    char engine[9], arch[17];
    struct snap_section *sec;
    int nsec;
};

/* Opens and checks a state file: magic, version, header, every section header, every payload
 * checksum except memory (see snap_verify_memory), and the END section. On failure logs one
 * line naming the file and the problem and returns -errno (-EBADMSG for damage, -EPROTO for
 * another version, -ENOEXEC for something that is not a state file). */
int snap_reader_open(struct snap_reader *r, const char *path);
void snap_reader_close(struct snap_reader *r);
const struct snap_section *snap_find(const struct snap_reader *r, enum snap_type type,
                                     uint32_t instance, const char *name);
/* Reads a whole payload into buf of exactly sec->length bytes. */
int snap_read_payload(const struct snap_reader *r, const struct snap_section *sec, void *buf,
                      uint64_t len);
/* Stream reading (migration), one header at a time. snap_parse_file_header checks magic,
 * checksum and version and fills engine[9] and arch[17]; snap_parse_section_header checks
 * the header's checksum and fills sec (offset is left 0). Both return 0, or -errno with a
 * reason in why (as snap_reader_open would refuse). */
int snap_parse_file_header(const uint8_t h[SNAP_FILE_HDR_SIZE], char *engine, char *arch, char *why,
                           size_t whylen);
int snap_parse_section_header(const uint8_t h[SNAP_SEC_HDR_SIZE], struct snap_section *sec,
                              char *why, size_t whylen);
/* zlib's CRC-32, continued from c (0 to start), for any length. */
uint32_t snap_crc(uint32_t c, const void *data, uint64_t len);

/* Checks a memory payload's checksum (reads it all: restores skip this to stay lazy). */
int snap_verify_memory(const struct snap_reader *r, const struct snap_section *sec);

#endif
