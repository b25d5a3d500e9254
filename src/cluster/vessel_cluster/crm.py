"""The cluster's own tools (crm_mon, cibadmin, crm_resource, crm_attribute), run either here or,
for a lab (--lab DIR), inside one of its live hosts: libqb's IPC sockets are abstract, so the
cluster can be reached only from a host's network namespace."""
import os
import xml.etree.ElementTree as ET
from xml.sax.saxutils import quoteattr

from .util import Error, run

PROVIDER = "vessel"
CPU_UNIT = 1000  # utilization "cpu" is in thousandths of a core: integers, as Pacemaker wants


class Runner:
    """Runs cluster tools: locally (st None) or in a live lab host (preferring `via`)."""

    def __init__(self, st=None, via=None):
        self.st = st
        self.via = via

    def prefix(self):
        if self.st is None:
            return []
        from .lab import host_pid, nsenter_argv
        names = ([self.via] if self.via else []) + sorted(self.st["hosts"])
        for name in names:
            pid = host_pid(self.st, name)
            if pid:
                return nsenter_argv(pid)
        raise Error("lab %s: every host is down" % self.st["dir"])

    def __call__(self, argv, check=True, timeout=60):
        return run(self.prefix() + argv, check=check, timeout=timeout)


def status_xml(r):
    out = r(["crm_mon", "-1", "--output-as=xml", "--inactive"]).stdout
    try:
        return ET.fromstring(out)
    except ET.ParseError as e:
        raise Error("crm_mon: output is not XML: %s" % e)


def cib_xml(r):
    out = r(["cibadmin", "--query"]).stdout
    try:
        return ET.fromstring(out)
    except ET.ParseError as e:
        raise Error("cibadmin --query: output is not XML: %s" % e)


def status_nodes(r):
    """{name: {"online": bool}} from crm_mon (all configured nodes)."""
    x = status_xml(r)
    return {n.get("name"): {"online": n.get("online") == "true", "unclean": n.get("unclean") == "true"}
            for n in x.iter("node") if n.get("type") == "member" and n.get("name")}


def set_property(r, name, value, section="crm_config"):
    r(["crm_attribute", "--type", section, "--name", name, "--update", str(value)])


def node_attr(r, node, name, value, utilization=False):
    argv = ["crm_attribute", "--node", node, "--name", name, "--update", str(value)]
    if utilization:
        argv.insert(1, "--utilization")
    else:
        argv += ["--lifetime", "forever"]
    r(argv)


def nvpairs(prefix, pairs):
    return "".join('<nvpair id=%s name=%s value=%s/>' % (quoteattr("%s-%s" % (prefix, k)), quoteattr(k),
                                                         quoteattr(str(v))) for k, v in pairs.items())


def primitive_xml(rid, cls, rtype, params, meta=None, util=None, ops=(), provider=None):
    x = '<primitive id=%s class=%s type=%s%s>' % (quoteattr(rid), quoteattr(cls), quoteattr(rtype),
                                                   (" provider=%s" % quoteattr(provider)) if provider else "")
    x += '<instance_attributes id=%s>%s</instance_attributes>' % (quoteattr(rid + "-params"),
                                                                  nvpairs(rid + "-params", params))
    if meta:
        x += '<meta_attributes id=%s>%s</meta_attributes>' % (quoteattr(rid + "-meta"), nvpairs(rid + "-meta", meta))
    if util:
        x += '<utilization id=%s>%s</utilization>' % (quoteattr(rid + "-util"), nvpairs(rid + "-util", util))
    if ops:
        x += "<operations>" + "".join(
            '<op id=%s name=%s interval=%s timeout=%s/>' % (quoteattr("%s-%s-%s" % (rid, n, i)), quoteattr(n),
                                                            quoteattr(i), quoteattr(t)) for n, i, t in ops) + "</operations>"
    return x + "</primitive>"


def cib_create(r, section, xml):
    r(["cibadmin", "--create", "--scope", section, "--xml-text", xml])


def configure_lab(st):
    """The lab's cluster: properties, fencing, the capacity clone, each node's address and
    socket (lab up runs it once all hosts are online)."""
    r = Runner(st)
    hosts = sorted(st["hosts"])
    configure_properties(r, stonith=True)
    cib_create(r, "resources", primitive_xml(
        "vessel-lab-fence", "stonith", "fence_vessel_lab",
        {"lab_dir": st["dir"], "vessel": st["vessel"], "pcmk_host_list": " ".join(hosts)},
        ops=[("monitor", "60s", "20s")]))
    cib_create(r, "resources", capacity_clone_xml(
        {"cpus": st["cpus"], "memory_mib": st["memory_mib"], "host_cgroup": "self", "period": 5,
         "reserve": 300}))
    for name in hosts:
        h = st["hosts"][name]
        node_attr(r, name, "vessel_socket", h["socket"])
        node_attr(r, name, "vessel_address", h["addr"])
        if st.get("token_file"):
            node_attr(r, name, "vessel_api", "http://%s:%d" % (h["addr"], st["api_port"]))
        node_attr(r, name, "cpu", st["cpus"] * CPU_UNIT, utilization=True)
        node_attr(r, name, "memory", st["memory_mib"], utilization=True)


def configure_properties(r, stonith):
    """The cluster properties Vessel expects (docs/cluster.md)."""
    props = {"stonith-enabled": "true" if stonith else "false", "placement-strategy": "balanced",
             "no-quorum-policy": "stop", "migration-limit": "1", "stonith-action": "off",
             "stonith-timeout": "30s", "cluster-recheck-interval": "1min"}
    for k, v in props.items():
        set_property(r, k, v)
    set_property(r, "resource-stickiness", "100", section="rsc_defaults")
    set_property(r, "migration-threshold", "3", section="rsc_defaults")
    set_property(r, "failure-timeout", "2min", section="rsc_defaults")


def capacity_clone_xml(params):
    prim = primitive_xml("vessel-capacity", "ocf", "capacity", params, provider=PROVIDER,
                         ops=[("monitor", "%ds" % params.get("period", 10), "20s"), ("start", "0", "20s"),
                              ("stop", "0", "20s")])
    return ('<clone id="vessel-capacity-clone"><meta_attributes id="vessel-capacity-clone-meta">'
            '<nvpair id="vessel-capacity-clone-meta-interleave" name="interleave" value="true"/>'
            '</meta_attributes>%s</clone>') % prim
