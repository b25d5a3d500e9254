#include <errno.h>
#include <string.h>

#include "harness.h"
#include "virtio/net.h"
#include "vm/control.h"
#include "vm/vm.h"

TEST(control_parse_commands)
{
    struct control_cmd c;
    char err[160];

    CHECK_EQ(control_parse("{\"balloon_target_mib\": 128}", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.op, CONTROL_BALLOON_TARGET);
    CHECK_EQ(c.num, 128);
    CHECK_EQ(control_parse("  {\"balloon_target_mib\":0}\r\n", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.num, 0);
    CHECK_EQ(control_parse("{\"stats\": null}", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.op, CONTROL_STATS);
    CHECK_EQ(control_parse("{ \"stats\" : null }", &c, err, sizeof(err)), 0);
    CHECK_EQ(control_parse("{\"shutdown\": null}", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.op, CONTROL_SHUTDOWN);
    CHECK_EQ(control_parse("{\"reboot\": null}", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.op, CONTROL_REBOOT);
}

TEST(control_parse_rejects)
{
    struct control_cmd c;
    char err[160];

    CHECK_EQ(control_parse("", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("stats", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"stats\": 0}", &c, err, sizeof(err)), 0);
    CHECK(c.op == CONTROL_STATS && c.num == 0);
    CHECK_EQ(control_parse("{\"stats\": 5000}", &c, err, sizeof(err)), 0);
    CHECK(c.num == 5000);
    CHECK_EQ(control_parse("{\"stats\": 5001}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"stats\": null}", &c, err, sizeof(err)), 0);
    CHECK(c.num == CONTROL_STATS_WAIT_MS);
    CHECK_EQ(control_parse("{\"balloon_target_mib\": null}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"balloon_target_mib\": -1}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"balloon_target_mib\": 1.5}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"balloon_target_mib\": 99999999999999999999}", &c, err, sizeof(err)),
             -EINVAL);
    CHECK_EQ(control_parse("{\"balloon_target_mib\": 18446744073709551615}", &c, err, sizeof(err)),
             -EINVAL); /* fits u64 but not in bytes */
    CHECK_EQ(control_parse("{\"stats\": null, \"x\": 1}", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"stats\": null} junk", &c, err, sizeof(err)), -EINVAL);
    CHECK_EQ(control_parse("{\"reboot\": 1}", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "reboot takes null") != NULL);
    CHECK_EQ(control_parse("{\"halt\": null}", &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "unknown command 'halt'") != NULL);
    CHECK_EQ(control_parse("{\"st\\\"ats\": null}", &c, err, sizeof(err)), -EINVAL);
}

TEST(control_handle_line_answers_json)
{
    const struct control none = {.balloon = NULL};
    char out[512];

    control_handle_line(&none, "{\"balloon_target_mib\": 5}", out, sizeof(out));
    CHECK(strstr(out, "{\"ok\":false,\"error\":\"no balloon device") == out);
    control_handle_line(&none, "{\"stats\": null}", out, sizeof(out));
    CHECK(strstr(out, "{\"ok\":true,\"vmm_rss_kib\":") == out);
    CHECK(strstr(out, "\"balloon\":null}") != NULL);
    /* No power controls: the answer says there is no power button. */
    control_handle_line(&none, "{\"shutdown\": null}", out, sizeof(out));
    CHECK(strstr(out, "{\"ok\":false,\"error\":\"this machine has no power button") == out);
    CHECK(control_vmm_rss_kib() > 0);
    /* A parse error quoting the input is escaped. */
    control_handle_line(&none, "nope", out, sizeof(out));
    CHECK(strstr(out, "{\"ok\":false,\"error\":\"expected a JSON object like {\\\"stats\\\"") ==
          out);
}

TEST(virtio_net_csum)
{
    /* RFC 1071's example: the sum of 00 01 f2 03 f4 f5 f6 f7 folds to 0xddf2. */
    static const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    static const uint8_t odd[] = {0x01, 0x02, 0x03};

    CHECK_EQ(virtio_net_csum_fold(d, sizeof(d), 0), 0xddf2);
    CHECK_EQ(virtio_net_csum_fold(odd, sizeof(odd), 0), 0x0402);
    CHECK_EQ(virtio_net_csum_fold(d, 0, 0x1ffff), 0x0001);
}

static const char *const fake_counters[] = {"instructions", "exits:io", NULL};

static void fake_stats(void *opaque, struct vm_stats *st)
{
    (void)opaque;
    st->ncpus = 2;
    st->cpu_ns[0] = 1500000000;
    st->cpu_ns[1] = 7;
    st->counter_names = fake_counters;
    st->counters[0] = 123456789;
    st->counters[1] = 42;
    st->ndisks = 1;
    st->disks[0] = (struct virtio_blk_stats){
        .read_ops = 1, .read_bytes = 512, .write_ops = 2, .write_bytes = 1048576, .flush_ops = 3};
    st->nnets = 1;
    st->nets[0] = (struct virtio_net_stats){.rx_packets = 4, .rx_bytes = 400, .tx_bytes = 900};
}

TEST(control_stats_carries_the_vm_counters)
{
    const struct control c = {.stats = fake_stats};
    char out[2048];

    control_handle_line(&c, "{\"stats\": 0}", out, sizeof(out));
    CHECK(strstr(out, "{\"ok\":true,\"vmm_rss_kib\":") == out);
    CHECK(strstr(out, "\"vcpu_cpu_ns\":[1500000000,7]"));
    CHECK(strstr(out, "\"engine\":{\"instructions\":123456789,\"exits:io\":42}"));
    CHECK(strstr(out, "\"disks\":[{\"read_ops\":1,\"read_bytes\":512,\"write_ops\":2,"
                      "\"write_bytes\":1048576,\"flush_ops\":3,\"discard_ops\":0,\"errors\":0}]"));
    CHECK(strstr(out, "\"nets\":[{\"rx_packets\":4,\"rx_bytes\":400,\"rx_dropped\":0,"
                      "\"tx_packets\":0,\"tx_bytes\":900,\"tx_dropped\":0}]"));
    CHECK(strstr(out, "\"balloon\":null}"));
}
