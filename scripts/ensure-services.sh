#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) answer; start them if installed.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL..."
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started." >&2
    echo "Install it (Debian: apt-get install postgresql) with trust auth for user postgres," >&2
    echo "or point TEST_DATABASE_URL at a server you have." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "${TMPDIR:-/tmp}" >/dev/null
    for _ in $(seq 1 20); do redis_up && break; sleep 0.5; done
  fi
  if ! redis_up; then
    echo "Redis is not running on 127.0.0.1:6379 and could not be started." >&2
    echo "Install it (Debian: apt-get install redis-server), or point TEST_REDIS_URL and TEST_BROKER_URL at one." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis are up."
