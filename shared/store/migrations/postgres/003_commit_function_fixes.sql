-- 003: takeout_apply / takeout_commit as 002 meant them (002 is kept as it was first applied anywhere):
--  - events are inserted from json_array_elements(...) WITH ORDINALITY (a column definition list cannot
--    be combined with WITH ORDINALITY, so 002 failed on the first command that emitted an event);
--  - the batch's lock query names its json columns explicitly (inside the function an alias `x` resolved
--    to players.x, so 002 failed on every batch of more than one unit).

CREATE OR REPLACE FUNCTION takeout_apply(u json, at bigint) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n integer;
  ids bigint[];
BEGIN
  PERFORM 1 FROM players
    WHERE id IN (SELECT (pl.j->>'id')::int FROM json_array_elements(u->'players') AS pl(j) WHERE pl.j->>'v' IS NOT NULL)
    ORDER BY id FOR UPDATE;
  FOR r IN SELECT * FROM json_to_recordset(u->'players') AS t(
      id int, v int, name text, ph text, level int, xp int, hp int, mhp int, gold int,
      inv json, q json, ch text, px float8, py float8, hunts int, cv int) ORDER BY id
  LOOP
    IF r.v IS NULL THEN
      BEGIN
        INSERT INTO players(id, name, pass_hash, level, xp, hp, max_hp, gold, inventory, quests, channel, x, y, hunts,
                            version, catalog_version, created_at, updated_at)
        VALUES (r.id, r.name, r.ph, r.level, r.xp, r.hp, r.mhp, r.gold, r.inv, r.q, r.ch, r.px, r.py, r.hunts,
                1, r.cv, at, at);
      EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'name % is taken', r.name USING ERRCODE = 'TK003';
      END;
    ELSE
      UPDATE players SET level = r.level, xp = r.xp, hp = r.hp, max_hp = r.mhp, gold = r.gold, inventory = r.inv,
             quests = r.q, channel = r.ch, x = r.px, y = r.py, hunts = r.hunts, version = version + 1, updated_at = at
       WHERE id = r.id AND version = r.v;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'player % changed since it was read', r.id USING ERRCODE = 'TK001';
      END IF;
    END IF;
  END LOOP;

  INSERT INTO ledger(op_id, player_id, kind, item, delta, reason, counterparty, at)
    SELECT l.o, l.p, l.k, l.i, l.d, l.r, l.c, at
      FROM json_to_recordset(COALESCE(u->'ledger', '[]')) AS l(o text, p int, k text, i text, d int, r text, c int);

  IF u->'idem' IS NOT NULL AND json_typeof(u->'idem') = 'object' THEN
    INSERT INTO idempotency(player_id, op_id, command, result, at)
      VALUES ((u->'idem'->>'p')::int, u->'idem'->>'o', u->'idem'->>'c', u->'idem'->'r', at)
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'operation % was recorded meanwhile', u->'idem'->>'o' USING ERRCODE = 'TK001';
    END IF;
  END IF;

  -- Channel capacity, counted after this unit's own move, one channel at a time under its lock.
  FOR r IN SELECT c.ch, c.cap FROM json_to_recordset(COALESCE(u->'channels', '[]')) AS c(ch text, cap int) ORDER BY c.ch
  LOOP
    PERFORM pg_advisory_xact_lock(hashtext('takeout.channel:' || r.ch));
    SELECT count(*) INTO n FROM players WHERE channel = r.ch;
    IF n > r.cap THEN
      RAISE EXCEPTION '% holds % players', r.ch, r.cap USING ERRCODE = 'TK002';
    END IF;
  END LOOP;

  -- Events take ids in commit order: the feed reads by cursor (id > after), so an id must never
  -- become visible after a larger one. The lock is held until this transaction ends.
  IF json_array_length(COALESCE(u->'events', '[]')) > 0 THEN
    PERFORM pg_advisory_xact_lock(7405001);
    WITH ins AS (
      INSERT INTO events(player_id, channel, except_player, name, body, at)
        SELECT (e.j->>'p')::int, e.j->>'ch', (e.j->>'ex')::int, e.j->>'n', e.j->'b', at
          FROM json_array_elements(u->'events') WITH ORDINALITY AS e(j, ord)
          ORDER BY e.ord
        RETURNING id
    )
    SELECT array_agg(id ORDER BY id) INTO ids FROM ins;
  END IF;
  RETURN json_build_object('ev', COALESCE(ids, '{}'::bigint[]));
END
$$;

-- A batch (the game server's group commit): every unit in its own subtransaction, so one that fails
-- rolls back alone and says why; the others commit together. Players of all units are locked first,
-- in id order.
CREATE OR REPLACE FUNCTION takeout_commit(units json, at bigint) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
  u json;
  out json[] := '{}';
BEGIN
  IF json_array_length(units) = 1 THEN
    RETURN json_build_array(takeout_apply(units->0, at));
  END IF;
  PERFORM 1 FROM players
    WHERE id IN (SELECT (pl.j->>'id')::int
                   FROM json_array_elements(units) AS un(j), json_array_elements(un.j->'players') AS pl(j)
                  WHERE pl.j->>'v' IS NOT NULL)
    ORDER BY id FOR UPDATE;
  FOR u IN SELECT * FROM json_array_elements(units)
  LOOP
    BEGIN
      out := out || takeout_apply(u, at);
    EXCEPTION WHEN SQLSTATE 'TK001' OR SQLSTATE 'TK002' OR SQLSTATE 'TK003' THEN
      out := out || json_build_object('err', SQLSTATE, 'message', SQLERRM);
    END;
  END LOOP;
  RETURN array_to_json(out);
END
$$;
