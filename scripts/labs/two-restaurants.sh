#!/usr/bin/env bash
# Lab 1 (docs/labs/01-two-restaurants.md): the takeout counter and the dine-in restaurant, by hand.
#
#   bash scripts/labs/two-restaurants.sh
#
# Starts two web servers on ONE SQLite store and one game server (all on free ports, temp files),
# then runs, and prints before running, each command of the lab: curl against both web servers
# with one token (statelessness), the CLI client against the game server, a kill -9 of the client
# (the TCP connection dies), and a new client that resumes the session. Everything is stopped at
# the end. Every wait is bounded.
set -euo pipefail
cd "$(dirname "$0")/../.."
TMP=$(mktemp -d /tmp/lab-two-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
FAILS=0
check() { # check NAME CONDITION-RESULT(0/1)
  if [ "$2" = 0 ]; then echo "ok   $1"; else echo "FAIL $1"; FAILS=$((FAILS + 1)); fi
}
# wait_line FILE REGEX: wait (≤ 90 s) until FILE has a line matching REGEX; print it
wait_line() {
  for _ in $(seq 1 900); do
    if grep -Eq "$2" "$1" 2>/dev/null; then grep -E "$2" "$1" | head -1; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for /$2/ in $1:" >&2; cat "$1" >&2; return 1
}
# show then run a lab command (the text shown is the command of the lab page)
run() { echo "\$ $1"; eval "$1"; echo; }
# the same for a command left running in the background: its stderr (and that of the sleep holding the
# client's stdin open) must not keep the caller's pipes open after the script ends
run_bg() { echo "\$ $1"; eval "$1" 2>/dev/null; echo; }

echo "# two web servers (one store) and a game server"
node --import tsx web-server/server.ts --port 0 --db-path "$TMP/web.sqlite" --hash-cost 4 --log-level warn > "$TMP/a.out" 2>&1 &
PIDS+=($!)
wait_line "$TMP/a.out" 'listening on' > /dev/null # A creates the schema first
node --import tsx web-server/server.ts --port 0 --db-path "$TMP/web.sqlite" --hash-cost 4 --log-level warn > "$TMP/b.out" 2>&1 &
PIDS+=($!)
node --import tsx game-server/server.ts --port 0 --db-path "$TMP/game.sqlite" --hash-cost 4 --log-level warn > "$TMP/g.out" 2>&1 &
PIDS+=($!)
WEB_A=$(wait_line "$TMP/a.out" 'listening on' | sed -E 's/.*:([0-9]+) .*/\1/')
WEB_B=$(wait_line "$TMP/b.out" 'listening on' | sed -E 's/.*:([0-9]+) .*/\1/')
GAME=$(wait_line "$TMP/g.out" 'listening on' | sed -E 's/.*tcp:\/\/[0-9.]+:([0-9]+) .*/\1/')
echo "WEB_A=$WEB_A WEB_B=$WEB_B GAME=$GAME"
echo

echo "# 1. takeout: log in at counter A, then show the token at counter B"
run 'curl -s -X POST http://127.0.0.1:$WEB_A/v1/sessions -H "content-type: application/json" -d "{\"name\":\"alice\",\"password\":\"secret-pw\"}" | tee $TMP/login.json'
TOKEN=$(sed -E 's/.*"token":"([^"]+)".*/\1/' "$TMP/login.json")
run 'curl -s -X POST http://127.0.0.1:$WEB_A/v1/zones/meadow/hunt -H "authorization: Bearer $TOKEN" | tee $TMP/hunt.json'
run 'curl -s http://127.0.0.1:$WEB_B/v1/me -H "authorization: Bearer $TOKEN" | tee $TMP/me-b.json'
ID_A=$(sed -E 's/.*"playerId":([0-9]+).*/\1/' "$TMP/login.json")
ID_B=$(sed -E 's/^\{"id":([0-9]+).*/\1/' "$TMP/me-b.json")
check "counter B answers counter A's player (id $ID_A = $ID_B) with the hunt A recorded" "$( [ "$ID_A" = "$ID_B" ] && grep -q '"hunts":1' "$TMP/me-b.json"; echo $?)"
run 'curl -s -i http://127.0.0.1:$WEB_B/v1/me/inventory -H "authorization: Bearer $TOKEN" | tee $TMP/inv.txt'
check "the same request without its token is refused: the counter remembers nothing" "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$WEB_B/v1/me | grep -q 401; echo $?)"
echo

echo "# 2. dine-in: sit down (log in, join a table, move), then the connection dies"
run_bg '(printf "player.login name=bob password=secret-pw\nchannel.join channel=town-1\nchannel.move x=10 y=20\n"; sleep 60) | node --import tsx game-server/client/cli.ts --port $GAME > $TMP/bob1.txt & CLIENT_PID=$!'
PIDS+=($CLIENT_PID)
wait_line "$TMP/bob1.txt" '^< channel.move' > /dev/null
cat "$TMP/bob1.txt"
run 'kill -9 $CLIENT_PID'
BOB_TOKEN=$(grep '^< player.login' "$TMP/bob1.txt" | sed -E 's/.*"token":"([^"]+)".*/\1/')
echo "# 3. come back on a new connection and resume the session with the token"
run 'printf "session.resume token=$BOB_TOKEN\nplayer.get\n" | npm run -s client -- --port $GAME --linger 100 | tee $TMP/bob2.txt'
check "the resumed session still sits at town-1 (10, 20): the server kept it in memory" "$(grep '^< session.resume' "$TMP/bob2.txt" | grep -q '"resumed":true,"channel":"town-1","x":10,"y":20'; echo $?)"
check "a request before login/resume on a fresh connection is refused" "$(printf 'player.get\n' | node --import tsx game-server/client/cli.ts --port $GAME --linger 0 | grep -q 'ERROR UNAUTHORIZED'; echo $?)"

if [ "$FAILS" = 0 ]; then echo "two-restaurants: all checks passed"; else echo "two-restaurants: $FAILS checks FAILED"; exit 1; fi
