-- 001: the same tables as the SQLite schema (meta, players, ledger, idempotency, events), plus a
-- version per player row: the async runner commits a unit of work only if every player it read is
-- still at the version it read (optimistic concurrency; a stale read retries the whole command).
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

-- json (not jsonb): kept as written, so inventory slots and quest logs come back in their order.
CREATE TABLE players (
  id              serial PRIMARY KEY,
  name            text NOT NULL UNIQUE,
  pass_hash       text NOT NULL,
  level           integer NOT NULL,
  xp              integer NOT NULL,
  hp              integer NOT NULL,
  max_hp          integer NOT NULL,
  gold            integer NOT NULL CHECK (gold >= 0),
  inventory       json NOT NULL,
  quests          json NOT NULL,
  channel         text,
  x               double precision NOT NULL,
  y               double precision NOT NULL,
  hunts           integer NOT NULL,
  version         integer NOT NULL DEFAULT 1,
  catalog_version integer NOT NULL,
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL
);
CREATE INDEX players_channel ON players(channel) WHERE channel IS NOT NULL;

CREATE TABLE ledger (
  id           bigserial PRIMARY KEY,
  op_id        text NOT NULL,
  player_id    integer NOT NULL REFERENCES players(id),
  kind         text NOT NULL CHECK (kind IN ('gold', 'item')),
  item         text,
  delta        integer NOT NULL CHECK (delta <> 0),
  reason       text NOT NULL,
  counterparty integer,
  at           bigint NOT NULL
);
CREATE INDEX ledger_player ON ledger(player_id);
CREATE INDEX ledger_op ON ledger(op_id);

CREATE TABLE idempotency (
  player_id integer NOT NULL,
  op_id     text NOT NULL,
  command   text NOT NULL,
  result    json NOT NULL,
  at        bigint NOT NULL,
  PRIMARY KEY (player_id, op_id)
);
CREATE INDEX idempotency_at ON idempotency(at);

CREATE TABLE events (
  id            bigserial PRIMARY KEY,
  player_id     integer,
  channel       text,
  except_player integer,
  name          text NOT NULL,
  body          json NOT NULL,
  at            bigint NOT NULL
);
CREATE INDEX events_player ON events(player_id, id) WHERE player_id IS NOT NULL;
CREATE INDEX events_channel ON events(channel, id) WHERE channel IS NOT NULL;
CREATE INDEX events_at ON events(at);
