#!/bin/sh
# Herald's one-shot Temporal setup jobs. Runs inside temporalio/admin-tools (POSIX sh, busybox); see
# docker-compose.yml. Every step is idempotent, so the jobs can run on every `docker compose up`.
#
#   temporal-setup.sh schema
#       Create (if missing) and migrate the Temporal persistence and visibility databases on PostgreSQL
#       (temporal-sql-tool, plugin postgres12), and create Herald's own database.
#       Env: POSTGRES_SEEDS POSTGRES_USER POSTGRES_PWD [DB_PORT=5432] [DBNAME=temporal]
#            [VISIBILITY_DBNAME=temporal_visibility] [HERALD_DBNAME=herald]
#            [SCHEMA_DIR=/etc/temporal/schema/postgresql/v12]
#
#   temporal-setup.sh namespace Name=Type [Name=Type ...]
#       Wait for the server, create the namespace if it is missing, register each search attribute
#       (`temporal operator search-attribute create`). "already exists" counts as success.
#       Env: [TEMPORAL_ADDRESS=temporal:7233] [TEMPORAL_NAMESPACE=default] [NAMESPACE_RETENTION=72h]
#            [TEMPORAL_RESOLVE_IPV4=true]
#
# Common env: [SETUP_RETRIES=30] [SETUP_RETRY_SLEEP=2] (seconds between attempts)
set -eu

SETUP_RETRIES=${SETUP_RETRIES:-30}
SETUP_RETRY_SLEEP=${SETUP_RETRY_SLEEP:-2}

log() { printf '[temporal-setup] %s\n' "$*"; }
die() { printf '[temporal-setup] error: %s\n' "$*" >&2; exit 1; }

# retry <what> <command...>: run the command until it succeeds or SETUP_RETRIES attempts have failed.
retry() {
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$SETUP_RETRIES" ]; then
      die "$what: still failing after $attempt attempts"
    fi
    log "$what: not yet (attempt $attempt/$SETUP_RETRIES), retrying in ${SETUP_RETRY_SLEEP}s"
    attempt=$((attempt + 1))
    sleep "$SETUP_RETRY_SLEEP"
  done
}

# ---------------------------------------------------------------------------------------------------------
# schema

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

# setup_database <database> <versioned schema dir>
setup_database() {
  db=$1
  dir=$2
  [ -n "$db" ] || die "empty database name"
  log "database $db: create if missing"
  retry "create database $db" sql_tool --db "$db" create
  log "database $db: schema version table"
  sql_tool --db "$db" setup-schema -v 0.0
  log "database $db: update schema from $dir"
  sql_tool --db "$db" update-schema -d "$dir"
}

cmd_schema() {
  : "${POSTGRES_SEEDS:?POSTGRES_SEEDS must name the PostgreSQL host}"
  : "${POSTGRES_USER:?POSTGRES_USER must be set}"
  : "${POSTGRES_PWD:?POSTGRES_PWD must be set}"
  DB_PORT=${DB_PORT:-5432}
  DBNAME=${DBNAME:-temporal}
  VISIBILITY_DBNAME=${VISIBILITY_DBNAME:-temporal_visibility}
  HERALD_DBNAME=${HERALD_DBNAME:-herald}
  SCHEMA_DIR=${SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
  # temporal-sql-tool reads the password from SQL_PASSWORD; keeps it off the command line.
  SQL_PASSWORD=$POSTGRES_PWD
  export SQL_PASSWORD

  log "PostgreSQL at $POSTGRES_SEEDS:$DB_PORT as $POSTGRES_USER"
  setup_database "$DBNAME" "$SCHEMA_DIR/temporal/versioned"
  setup_database "$VISIBILITY_DBNAME" "$SCHEMA_DIR/visibility/versioned"
  # Herald migrates its own tables at start; it only needs the database to exist.
  log "database $HERALD_DBNAME: create if missing"
  retry "create database $HERALD_DBNAME" sql_tool --db "$HERALD_DBNAME" create
  log "schema setup complete"
}

# ---------------------------------------------------------------------------------------------------------
# namespace

# Some Docker setups resolve service names to an IPv6 address first while the server listens on IPv4
# (BIND_ON_IP=0.0.0.0); temporalio/samples-server's create-namespace script pins the IPv4 address too.
resolve_address() {
  address=$1
  host=${address%:*}
  port=${address##*:}
  if [ "${TEMPORAL_RESOLVE_IPV4:-true}" = "true" ] && command -v getent >/dev/null 2>&1; then
    ip=$(getent ahosts "$host" 2>/dev/null | awk '$1 ~ /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/ { print $1; exit }') || ip=
    if [ -n "$ip" ]; then
      printf '%s:%s\n' "$ip" "$port"
      return 0
    fi
  fi
  printf '%s\n' "$address"
}

# Prints the command's combined output on failure; succeeds when the command does or when its output says
# "already exists".
ok_if_exists() {
  if out=$("$@" 2>&1); then
    [ -z "$out" ] || printf '%s\n' "$out"
    return 0
  fi
  if printf '%s' "$out" | grep -qi 'already exists'; then
    log "already exists"
    return 0
  fi
  printf '%s\n' "$out" >&2
  return 1
}

cmd_namespace() {
  [ "$#" -gt 0 ] || die "namespace: give at least one search attribute as Name=Type"
  # Validate every argument before touching the server: nothing is registered on bad input.
  for spec in "$@"; do
    name=${spec%%=*}
    type=${spec#*=}
    case "$spec" in *=*) ;; *) die "search attribute '$spec' is not Name=Type" ;; esac
    case "$name" in '' | *[!A-Za-z0-9_]*) die "search attribute name '$name' (from '$spec') must be [A-Za-z0-9_]+" ;; esac
    case "$type" in
      Text | Keyword | Int | Double | Bool | Datetime | KeywordList) ;;
      *) die "search attribute $name: type '$type' is not one of Text Keyword Int Double Bool Datetime KeywordList" ;;
    esac
  done

  namespace=${TEMPORAL_NAMESPACE:-default}
  retention=${NAMESPACE_RETENTION:-72h}
  address=$(resolve_address "${TEMPORAL_ADDRESS:-temporal:7233}")
  log "Temporal at $address (from ${TEMPORAL_ADDRESS:-temporal:7233}), namespace $namespace"

  retry "Temporal cluster health" temporal operator cluster health --address "$address"

  if temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1; then
    log "namespace $namespace exists"
  else
    log "namespace $namespace: creating (retention $retention)"
    retry "create namespace $namespace" ok_if_exists \
      temporal operator namespace create --namespace "$namespace" --retention "$retention" --address "$address"
  fi

  for spec in "$@"; do
    name=${spec%%=*}
    type=${spec#*=}
    log "search attribute $name ($type)"
    # Retried: right after a namespace is created the server may not know it yet.
    retry "register search attribute $name" ok_if_exists \
      temporal operator search-attribute create --namespace "$namespace" --name "$name" --type "$type" --address "$address"
  done
  log "namespace $namespace ready with $# search attributes"
}

# ---------------------------------------------------------------------------------------------------------

[ "$#" -gt 0 ] || die "usage: $0 schema | namespace Name=Type..."
mode=$1
shift
case "$mode" in
  schema) cmd_schema "$@" ;;
  namespace) cmd_namespace "$@" ;;
  *) die "unknown mode '$mode' (expected schema or namespace)" ;;
esac
