# shellcheck shell=sh
# Runs as PID 1 of the fake pod's new PID, UTS and mount namespaces, still in
# the cgroup of whoever started the demo: it plays the container runtime's
# init (what runc init does), then becomes my-app.
#
# demo.sh starts it in the pod directory (hosts, resolv.conf, nsswitch.conf,
# usr-local/),
# with the settings in the environment, which keeps its command line short:
#   POD_HOSTNAME      the pod's host name (Kubernetes uses the pod name)
#   POD_CGROUP_PROCS  the container cgroup's cgroup.procs file
set -eu

# The UTS namespace is ours alone (echo is a builtin: no process to record).
echo "$POD_HOSTNAME" > /proc/sys/kernel/hostname

# The mount namespace is private (unshare --propagation private): none of
# these mounts is visible outside the pod, and they vanish with it.
#   the pod's /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf: host
#   names from its hosts file, then from the demo's name server on loopback,
#   which knows attacker.com (or, where demo.sh could not start it, from the
#   hosts file alone, resolv.conf naming loopback for any query that still
#   happens);
#   no cache of the node's (nscd), which would ask the node's name servers;
#   my-app's files appear under /usr/local, as in a container image;
#   /tmp is the pod's own tmpfs, so the dropped "backdoor" never hits the host.
mount --bind "$PWD/hosts" /etc/hosts
if [ -e /etc/resolv.conf ]; then
    mount --bind "$PWD/resolv.conf" /etc/resolv.conf
fi
if [ -e /etc/nsswitch.conf ] && [ -e nsswitch.conf ]; then
    mount --bind "$PWD/nsswitch.conf" /etc/nsswitch.conf
fi
if [ -d /var/run/nscd ]; then
    mount -t tmpfs -o mode=755,size=64k pod-nscd /var/run/nscd
fi
mount --bind "$PWD/usr-local" /usr/local
mount -t tmpfs -o mode=1777,size=16m pod-tmp /tmp

# Last, join the container's cgroup right before the exec of the
# entrypoint, as a runtime does: the setup above was the runtime's work;
# my-app and everything it starts belong to the pod. $$ is 1 here, and
# cgroup.procs takes PIDs as the writer's PID namespace numbers them.
echo $$ > "$POD_CGROUP_PROCS"
unset POD_HOSTNAME POD_CGROUP_PROCS
cd /
exec my-app /usr/local/lib/my-app/app.sh
