-- 001: players, ledger, idempotency, events, meta.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- The player's row carries its inventory and quest log as JSON documents: a command reads and
-- writes one row, and the ledger (below) is the relational record that audits it.
CREATE TABLE players (
  id              INTEGER PRIMARY KEY,
  name            TEXT NOT NULL UNIQUE,
  pass_hash       TEXT NOT NULL,
  level           INTEGER NOT NULL,
  xp              INTEGER NOT NULL,
  hp              INTEGER NOT NULL,
  max_hp          INTEGER NOT NULL,
  gold            INTEGER NOT NULL CHECK (gold >= 0),
  inventory       TEXT NOT NULL,
  quests          TEXT NOT NULL,
  channel         TEXT,
  x               REAL NOT NULL,
  y               REAL NOT NULL,
  hunts           INTEGER NOT NULL,
  catalog_version INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX players_channel ON players(channel) WHERE channel IS NOT NULL;

CREATE TABLE ledger (
  id           INTEGER PRIMARY KEY,
  op_id        TEXT NOT NULL,
  player_id    INTEGER NOT NULL REFERENCES players(id),
  kind         TEXT NOT NULL CHECK (kind IN ('gold', 'item')),
  item         TEXT,
  delta        INTEGER NOT NULL CHECK (delta <> 0),
  reason       TEXT NOT NULL,
  counterparty INTEGER,
  at           INTEGER NOT NULL
);
CREATE INDEX ledger_player ON ledger(player_id);
CREATE INDEX ledger_op ON ledger(op_id);

CREATE TABLE idempotency (
  player_id INTEGER NOT NULL,
  op_id     TEXT NOT NULL,
  command   TEXT NOT NULL,
  result    TEXT NOT NULL,
  at        INTEGER NOT NULL,
  PRIMARY KEY (player_id, op_id)
) WITHOUT ROWID;

CREATE TABLE events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  player_id INTEGER,
  channel   TEXT,
  name      TEXT NOT NULL,
  body      TEXT NOT NULL,
  at        INTEGER NOT NULL
);
CREATE INDEX events_player ON events(player_id, id) WHERE player_id IS NOT NULL;
CREATE INDEX events_channel ON events(channel, id) WHERE channel IS NOT NULL;
