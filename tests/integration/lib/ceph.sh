# tests/integration/lib/ceph.sh - a throw-away single-host Ceph cluster for
# the RADOS tier's tests: one monitor and one memstore OSD, every file under
# one directory (in /dev/shm when there is room), run as root without
# systemd.  Source it, then:
#
#   ceph_up DIR      bring a cluster up (about 5-10 s): sets CEPH_CONF (the
#                    ceph.conf clients use) and CEPH_DIR; 0, or 1 with the
#                    reason on stdout
#   ceph_stop        stop what ceph_up started (by pid), keeping DIR (its
#                    ceph.conf names a cluster that no longer answers)
#   ceph_down        ceph_stop, and remove DIR
#   ceph_osd_pause   freeze the OSD (SIGSTOP): it stops answering, as a hung
#                    or cut-off server does, and object reads and writes
#                    time out
#   ceph_osd_resume  let it go on (SIGCONT), its objects intact
#
# (A memstore OSD keeps its objects in memory: a restarted one would come
# back empty, so an outage is a frozen OSD, not a restarted one.)
#
# Packages: ceph-mon, ceph-osd (and ceph-common for the ceph/rados tools).
# The settings are those a one-OSD cluster needs: pools of size 1, CRUSH
# choosing among OSDs rather than hosts, msgr2 only, a small OSD memory
# target, and client timeouts, so that nothing waits forever.

ceph_have() {
	command -v ceph-mon > /dev/null && command -v ceph-osd > /dev/null &&
		command -v ceph-authtool > /dev/null && command -v monmaptool > /dev/null &&
		command -v ceph > /dev/null
}

# a free TCP port on the loopback address
ceph_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

ceph_up() {
	local d=$1 port fsid key
	ceph_have || { echo "ceph-mon/ceph-osd not installed"; return 1; }
	CEPH_DIR=$d
	mkdir -p "$d/mon" "$d/osd" "$d/run" "$d/log"
	port=$(ceph_port)
	fsid=$(cat /proc/sys/kernel/random/uuid)
	CEPH_CONF=$d/ceph.conf
	cat > "$CEPH_CONF" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$port
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
ms_bind_msgr1 = false
ms_bind_ipv6 = false
public_addr = 127.0.0.1
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
osd_crush_chooseleaf_type = 0
mon_warn_on_pool_no_redundancy = false
run_dir = $d/run
admin_socket = $d/run/\$name.asok
log_file = $d/log/\$name.log
keyring = $d/keyring
rados_osd_op_timeout = 10
rados_mon_op_timeout = 10
client_mount_timeout = 10
[mon]
mon_data = $d/mon/\$cluster-\$id
mon_initial_members = a
[osd]
osd_data = $d/osd/\$cluster-\$id
keyring = $d/osd/\$cluster-\$id/keyring
osd_objectstore = memstore
memstore_device_bytes = 4294967296
osd_memory_target = 536870912
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
EOF
	ceph-authtool --create-keyring "$d/mon.keyring" --gen-key -n mon. --cap mon 'allow *' > /dev/null &&
		ceph-authtool --create-keyring "$d/keyring" --gen-key -n client.admin \
			--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' > /dev/null &&
		ceph-authtool "$d/mon.keyring" --import-keyring "$d/keyring" > /dev/null &&
		monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$port]" "$d/monmap" > /dev/null &&
		ceph-mon -c "$CEPH_CONF" --mkfs -i a --monmap "$d/monmap" --keyring "$d/mon.keyring" \
			> "$d/log/mkfs-mon.out" 2>&1 ||
		{ echo "monitor setup failed"; cat "$d/log/mkfs-mon.out" 2>/dev/null; return 1; }
	ceph-mon -c "$CEPH_CONF" -i a --pid-file "$d/run/mon.pid" > "$d/log/mon.out" 2>&1 ||
		{ echo "ceph-mon did not start"; cat "$d/log/mon.out"; return 1; }
	ceph -c "$CEPH_CONF" --connect-timeout 15 status > /dev/null 2>&1 ||
		{ echo "the monitor does not answer"; tail -20 "$d/log/mon.a.log"; return 1; }
	# one OSD: registered, made, its keyring written (mkfs does not), started
	local uuid id
	uuid=$(cat /proc/sys/kernel/random/uuid)
	key=$(ceph-authtool --gen-print-key)
	id=$(echo "{\"cephx_secret\": \"$key\"}" |
		ceph -c "$CEPH_CONF" osd new "$uuid" -i - 2> "$d/log/osd-new.err") ||
		{ echo "ceph osd new failed"; cat "$d/log/osd-new.err"; return 1; }
	CEPH_OSD_ID=$id
	mkdir -p "$d/osd/ceph-$id"
	ceph-osd -c "$CEPH_CONF" -i "$id" --mkfs --key "$key" --osd-uuid "$uuid" \
		> "$d/log/mkfs-osd.out" 2>&1 ||
		{ echo "ceph-osd --mkfs failed"; cat "$d/log/mkfs-osd.out"; return 1; }
	printf '[osd.%s]\n\tkey = %s\n' "$id" "$key" > "$d/osd/ceph-$id/keyring"
	ceph_osd_start || return 1
	export CEPH_CONF CEPH_DIR CEPH_OSD_ID
}

ceph_osd_start() {
	ceph-osd -c "$CEPH_CONF" -i "$CEPH_OSD_ID" --pid-file "$CEPH_DIR/run/osd.pid" \
		> "$CEPH_DIR/log/osd.out" 2>&1 ||
		{ echo "ceph-osd did not start"; cat "$CEPH_DIR/log/osd.out"; return 1; }
	ceph_osd_wait_up && return 0
	tail -20 "$CEPH_DIR/log/osd.$CEPH_OSD_ID.log" 2> /dev/null
	return 1
}

# until the monitor says the OSD is up (at most about a minute)
ceph_osd_wait_up() {
	local i
	for i in $(seq 1 300); do
		if ceph -c "$CEPH_CONF" --connect-timeout 5 osd dump 2> /dev/null |
			grep -q "^osd\.$CEPH_OSD_ID up"; then
			return 0
		fi
		sleep 0.2
	done
	echo "the OSD did not come up"
	return 1
}

# stop one daemon by its pid file and wait until it is gone
ceph_kill() {
	local pidf=$1 pid i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill "$pid" 2> /dev/null || true
	for i in $(seq 1 100); do
		kill -0 "$pid" 2> /dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2> /dev/null || true
	rm -f "$pidf"
	return 0
}

ceph_osd_pause() {
	kill -STOP "$(cat "$CEPH_DIR/run/osd.pid")"
}

# SIGCONT, then the monitor marks the OSD down: it rejoins at once and its
# placement groups peer again.  Without that a frozen OSD's placement groups
# stay unreadable once their read lease (16 s) ran out during the freeze,
# which is how Ceph treats a clock that jumped, not how it treats an outage
# (a restarted or reconnected OSD peers again).  Returns when it is up.
ceph_osd_resume() {
	kill -CONT "$(cat "$CEPH_DIR/run/osd.pid")" || return 1
	ceph -c "$CEPH_CONF" --connect-timeout 10 osd down "$CEPH_OSD_ID" > /dev/null 2>&1 || true
	ceph_osd_wait_up
}

ceph_stop() {
	[ -n "${CEPH_DIR:-}" ] || return 0
	if [ -f "$CEPH_DIR/run/osd.pid" ]; then
		kill -CONT "$(cat "$CEPH_DIR/run/osd.pid")" 2> /dev/null || true
	fi
	ceph_kill "$CEPH_DIR/run/osd.pid"
	ceph_kill "$CEPH_DIR/run/mon.pid"
}

ceph_down() {
	[ -n "${CEPH_DIR:-}" ] || return 0
	ceph_stop
	rm -rf "$CEPH_DIR"
	CEPH_DIR=
}
