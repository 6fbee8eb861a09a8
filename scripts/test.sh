#!/usr/bin/env bash
# The project's test command (`make test`).
#
#   scripts/test.sh                          go vet + go test ./...
#   scripts/test.sh -run TestCutoff ./fulfillment/   arguments go to go test
#
# The tests need a PostgreSQL server (an admin URL: they create and drop
# their own databases) and Redis. In order of preference:
#   PostgreSQL: $DATABASE_URL; a server on 127.0.0.1:5432 that lets user
#               postgres in without a password; else a private throw-away
#               cluster on a free port (installs Debian's postgresql package
#               when the programs are missing).
#   Redis:      $REDIS_URL; a server on 127.0.0.1:6379; else a private
#               redis-server on a free port (installs redis-server).
# Private servers are started by internal/localserver (the launcher `groupbuy
# dev` and the tests use too, through its command localservers) and are
# stopped and removed when the script exits.
# GROUPBUY_TEST_PG_PORT / GROUPBUY_TEST_REDIS_PORT change the ports probed
# for existing servers (5432 / 6379).
#
# After the tests pass, the packages whose work is to share memory between
# goroutines (the intake's batcher, the workers and the outbox, the stock
# locks, the H3 index's poller, the solver's threads) run again under the
# race detector; GROUPBUY_RACE=0, a -run, -bench or -race argument skips
# that. The whole suite under -race takes about 18 minutes on 2 cores
# (`make test ARGS=-race`), these under 3 from an empty build cache.
#
# Then each fuzz target of a tested package runs for
# GROUPBUY_FUZZTIME (default 50000x, fifty thousand inputs; a duration such
# as 10s works too; 0 skips; a -run or -bench argument skips too). A count,
# not a duration, by default: Go before 1.27 can fail a duration's run with
# "context deadline exceeded" and no failing input when a busy machine keeps
# a worker past the deadline (go.dev/issue/75804). A failing input is
# written to the package's testdata/fuzz/FuzzXxx/: fix the bug and commit
# that file, so the case stays in the seed corpus.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_PROBE_PORT="${GROUPBUY_TEST_PG_PORT:-5432}"
REDIS_PROBE_PORT="${GROUPBUY_TEST_REDIS_PORT:-6379}"

say() { printf 'test.sh: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup
CLEANUP=()
cleanup() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
# as_root CMD...: run as root (directly, or through sudo).
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (install sudo, or run as root)"
	fi
}

APT_UPDATED=
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "cannot install $* automatically (no apt-get); install it and re-run"
	say "installing $* with apt-get"
	if [ -z "$APT_UPDATED" ]; then
		as_root apt-get update -qq
		APT_UPDATED=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# tcp_open PORT: something listens on 127.0.0.1:PORT.
tcp_open() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# redis_ping PORT: a Redis on 127.0.0.1:PORT answers PING.
redis_ping() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 2 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
		printf "PING\r\n" >&3
		IFS= read -r reply <&3
		[[ "$reply" == +PONG* ]]' redis_ping "$1" 2>/dev/null
}

# pg_accepts URL: we can log in and run a query (only checked with psql).
pg_accepts() {
	if command -v psql >/dev/null 2>&1; then
		PGCONNECT_TIMEOUT=3 psql -w "$1" -XAtqc 'SELECT 1' >/dev/null 2>&1
	elif command -v pg_isready >/dev/null 2>&1; then
		pg_isready -q -d "$1" -t 3
	else
		tcp_open "$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$1")"
	fi
}

# ---------------------------------------------------------------- toolchain
command -v go >/dev/null 2>&1 || die "go is not on PATH (https://go.dev/dl/)"
# h3-go needs cgo, hence a C compiler.
if ! command -v "$(go env CC 2>/dev/null || echo gcc)" >/dev/null 2>&1; then
	apt_install gcc libc6-dev
fi
# Printout tests read PDFs back (poppler-utils), scan label QR codes
# (zbar-tools) and draw Chinese with a TrueType CJK font.
missing=()
command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
[ -n "${GROUPBUY_FONT_CJK:-}" ] || [ -f /usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf ] || missing+=(fonts-arphic-gbsn00lp)
[ -n "${GROUPBUY_FONT_LATIN:-}" ] || [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
# The console's browser test (cmd/groupbuy/console_test.go) drives Debian's
# Chromium headless.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
	apt_install "${missing[@]}"
fi

# ---------------------------------------------------------------- servers
# The tests also start private redis-servers of their own.
if ! command -v redis-server >/dev/null 2>&1; then
	apt_install redis-server
fi

private=()
if [ -n "${DATABASE_URL:-}" ]; then
	say "PostgreSQL: DATABASE_URL from the environment"
else
	url="postgres://postgres@127.0.0.1:$PG_PROBE_PORT/postgres?sslmode=disable"
	if tcp_open "$PG_PROBE_PORT" && pg_accepts "$url"; then
		DATABASE_URL="$url"
		say "PostgreSQL: the server on 127.0.0.1:$PG_PROBE_PORT"
	else
		if tcp_open "$PG_PROBE_PORT"; then
			say "PostgreSQL on 127.0.0.1:$PG_PROBE_PORT does not let user postgres in without a password; using a private server"
		fi
		private+=(-postgres)
	fi
fi

if [ -n "${REDIS_URL:-}" ]; then
	say "Redis: REDIS_URL from the environment"
elif redis_ping "$REDIS_PROBE_PORT"; then
	REDIS_URL="redis://127.0.0.1:$REDIS_PROBE_PORT/0"
	say "Redis: the server on 127.0.0.1:$REDIS_PROBE_PORT"
else
	private+=(-redis)
fi

# partman_for MAJOR: pg_partman (which makes the nights' partitions,
# migration 00085) for PostgreSQL MAJOR on this machine.
partman_for() {
	[ -f "/usr/share/postgresql/$1/extension/pg_partman.control" ] || apt_install "postgresql-$1-partman"
}

# start_private_servers ARGS...: the launcher starts them (-postgres,
# -redis), prints their URLs and stops them when killed at exit.
start_private_servers() {
	local tmp pid line bindir
	tmp="$(mktemp -d /tmp/groupbuy-test.XXXXXX)"
	CLEANUP+=("rm -rf '$tmp'")
	go build -o "$tmp/localservers" ./internal/localserver/cmd/localservers
	if [[ " $* " == *" -postgres "* ]]; then
		bindir="$("$tmp/localservers" -find-postgres 2>/dev/null)" ||
			{ apt_install postgresql && bindir="$("$tmp/localservers" -find-postgres)"; }
		partman_for "$("$bindir/postgres" --version | sed -E 's/[^0-9]*([0-9]+).*/\1/')"
	fi
	say "starting private servers ($*)"
	"$tmp/localservers" -dir "$tmp/servers" "$@" >"$tmp/urls" 2>"$tmp/servers.log" &
	pid=$!
	CLEANUP+=("kill $pid; wait $pid")
	until grep -qx READY "$tmp/urls"; do
		kill -0 "$pid" 2>/dev/null || { tail -n 30 "$tmp/servers.log" >&2; die "the private servers did not start"; }
		sleep 0.2
	done
	while IFS= read -r line; do
		case "$line" in
		DATABASE_URL=*) DATABASE_URL="${line#DATABASE_URL=}" && say "PostgreSQL: private server, $DATABASE_URL" ;;
		REDIS_URL=*) REDIS_URL="${line#REDIS_URL=}" && say "Redis: private server, $REDIS_URL" ;;
		esac
	done <"$tmp/urls"
}

if [ ${#private[@]} -gt 0 ]; then
	start_private_servers "${private[@]}"
fi
# A running server needs pg_partman too: installed here when the server is
# on this machine, else said.
if [[ " ${private[*]} " != *" -postgres "* ]] && command -v psql >/dev/null 2>&1 &&
	[ "$(psql -w "$DATABASE_URL" -XAtqc "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_partman'" 2>/dev/null)" = 0 ]; then
	case "$DATABASE_URL" in
	*@127.0.0.1[:/]* | *@localhost[:/]* | *@\[::1\][:/]*)
		partman_for "$(($(psql -w "$DATABASE_URL" -XAtqc 'SHOW server_version_num') / 10000))" ;;
	*) die "the PostgreSQL server of DATABASE_URL has no pg_partman extension: install it there (Debian: postgresql-<version>-partman)" ;;
	esac
fi
export DATABASE_URL REDIS_URL

# ---------------------------------------------------------------- Go
# Packages named on the command line, else ./... ; everything else is a
# go test flag.
pkgs=()
for a in "$@"; do
	case "$a" in
	./* | ../* | groupbuy | groupbuy/*) pkgs+=("$a") ;;
	esac
done
extra=()
if [ ${#pkgs[@]} -eq 0 ]; then
	pkgs=(./...)
	extra=(./...)
fi

say "go vet ${pkgs[*]}"
vet_status=0
go vet "${pkgs[@]}" || vet_status=$?
[ "$vet_status" -eq 0 ] || say "go vet failed (status $vet_status); running the tests anyway"

say "go test -count=1 -timeout 20m $* ${extra[*]}"
test_status=0
go test -count=1 -timeout 20m "$@" "${extra[@]}" || test_status=$?

if [ "$test_status" -ne 0 ]; then
	say "FAIL (go test status $test_status)"
	exit "$test_status"
fi

tested="$(go list "${pkgs[@]}")"
# tested_of DIR...: the import paths of those DIRs this run tested, one go
# list for all of them.
tested_of() { go list "$@" | grep -xF -f <(printf '%s\n' "$tested") || true; }
# skip_for_args FLAG...: the first argument of this run that is one of the
# FLAGs (alone or as FLAG=...), if any.
args=("$@")
skip_for_args() {
	local a f
	for a in "${args[@]}"; do
		for f in "$@"; do
			case "$a" in "$f" | "$f"=*) printf '%s' "$a"; return ;; esac
		done
	done
}

# ---------------------------------------------------------------- race detector
RACE_PACKAGES=(
	./internal/jobs/ ./internal/ratelimit/ ./internal/pg/ ./internal/httpx/ ./internal/auth/
	./fulfillment/intake/ ./fulfillment/supply/ ./fulfillment/night/ ./fulfillment/lastmile/
	./pickup/ ./pickup/notice/
)
# The solver's tests that search with two threads; the rest of routing runs
# one thread and would only add minutes.
RACE_ROUTING='^(TestDeterminism|TestCancellationReturnsBest|TestCitySmallFeasible)$'
race_skip="$(skip_for_args -run -bench -race)"
case "${GROUPBUY_RACE:-1}" in 0) race_skip="GROUPBUY_RACE=0" ;; esac
if [ -n "$race_skip" ]; then
	say "race detector skipped (${race_skip})"
else
	mapfile -t race < <(tested_of "${RACE_PACKAGES[@]}")
	if [ ${#race[@]} -gt 0 ]; then
		say "go test -race -count=1 ${race[*]}"
		go test -race -count=1 -timeout 20m "${race[@]}" || { say "FAIL (race detector)"; exit 1; }
	fi
	if [ -n "$(tested_of ./routing/)" ]; then
		say "go test -race -count=1 -run '$RACE_ROUTING' ./routing/"
		go test -race -count=1 -run "$RACE_ROUTING" ./routing/ || { say "FAIL (race detector, routing)"; exit 1; }
	fi
fi

# ---------------------------------------------------------------- fuzzing
# Target and package; go test -fuzz takes one target per invocation.
FUZZ_TARGETS=(
	"FuzzDecodeOrder ./fulfillment/intake/"
	"FuzzImportCSV ./fulfillment/catalog/"
	"FuzzImportPointsCSV ./pickup/"
	"FuzzImportSuppliersCSV ./fulfillment/supply/"
	"FuzzReadVRPLIB ./routing/"
)
FUZZTIME="${GROUPBUY_FUZZTIME:-50000x}"
fuzz_skip="$(skip_for_args -run -bench)"
case "$FUZZTIME" in 0 | 0s | 0x) fuzz_skip="GROUPBUY_FUZZTIME=$FUZZTIME" ;; esac
if [ -n "$fuzz_skip" ]; then
	say "fuzzing skipped ($fuzz_skip)"
else
	for t in "${FUZZ_TARGETS[@]}"; do
		read -r name dir <<<"$t"
		[ -n "$(tested_of "$dir")" ] || continue
		say "go test -run '^\$' -fuzz '^$name\$' -fuzztime $FUZZTIME $dir"
		if ! go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$dir"; then
			say "FAIL (fuzzing $name; an input that fails is written under ${dir}testdata/fuzz/$name/: fix the bug, keep the file)"
			exit 1
		fi
	done
fi
if [ "$vet_status" -ne 0 ]; then
	say "FAIL (go vet status $vet_status)"
	exit "$vet_status"
fi
say "ok"
