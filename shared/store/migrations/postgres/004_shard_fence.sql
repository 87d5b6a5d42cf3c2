-- 004: the shards' fence (docs/shards.md, "One session per player, with epoch fencing").
--
-- shard_fence holds, per player, the epoch of the newest claim any shard made (raised by
-- `INSERT … ON CONFLICT DO UPDATE SET epoch = greatest(…) RETURNING epoch`, never lowered). A unit
-- of work a shard commits for a player it holds names that player and the shard's epoch in
-- u->'fence' ([{id, e}]); the commit refuses the unit with TK004 (SESSION_REPLACED) when the fence
-- is newer than e.
--
-- Where the check lives: in takeout_commit, the function that already IS the write transaction
-- (one prepared statement, one round trip per group commit). Checking from the client instead
-- (BEGIN; SELECT the fence; SELECT takeout_commit; COMMIT) would cost three more round trips per
-- batch and hold a transaction open across them. takeout_apply (003) is left as it is: the check
-- runs just before it, inside the same subtransaction, so a refused unit rolls back alone.
--
-- Ordering against a claim: the check takes FOR SHARE locks on the unit's fence rows. A claim's
-- raise (an UPDATE of the row) waits for the writing transaction to end, and a write that starts
-- after a raise committed reads the raised value (READ COMMITTED: each statement sees what is
-- committed when it starts, and a row lock waits for the raise in flight, then reads its result).
-- So a stale shard's write either commits before the raise (and the new owner, which loads the
-- player after raising, reads it) or is refused: never after. Units without u->'fence' (the web
-- tier, an unsharded game server) skip all of it.

CREATE TABLE shard_fence (
  player_id integer PRIMARY KEY,
  epoch     bigint NOT NULL
);

-- Refuse u when a player it names in u->'fence' has been claimed with a newer epoch.
CREATE FUNCTION takeout_fence_check(u json) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF u->'fence' IS NULL OR json_typeof(u->'fence') <> 'array' OR json_array_length(u->'fence') = 0 THEN
    RETURN;
  END IF;
  -- The players first (as takeout_apply and the batch do; already held in a batch), so every
  -- writer takes player rows before fence rows and no two wait on each other in opposite orders.
  PERFORM 1 FROM players
    WHERE id IN (SELECT (pl.j->>'id')::int FROM json_array_elements(u->'players') AS pl(j) WHERE pl.j->>'v' IS NOT NULL)
    ORDER BY id FOR UPDATE;
  -- Then the fence rows: lock first (every named row, in id order), then read: rows a filtered SELECT … FOR SHARE does
  -- not return are not locked, and those are exactly the ones a claim could raise meanwhile.
  PERFORM 1 FROM shard_fence
    WHERE player_id IN (SELECT (f.j->>'id')::int FROM json_array_elements(u->'fence') AS f(j))
    ORDER BY player_id FOR SHARE;
  SELECT s.player_id, s.epoch, (f.j->>'e')::bigint AS mine INTO r
    FROM json_array_elements(u->'fence') AS f(j)
    JOIN shard_fence s ON s.player_id = (f.j->>'id')::int
   WHERE s.epoch > (f.j->>'e')::bigint
   ORDER BY s.player_id
   LIMIT 1;
  IF FOUND THEN
    -- The message is parsed by the shard (game-server/shard/fence.ts): keep its shape.
    RAISE EXCEPTION 'player % was claimed with epoch % (this shard holds %)', r.player_id, r.epoch, r.mine
      USING ERRCODE = 'TK004';
  END IF;
END
$$;

-- takeout_commit as in 003, with the fence check before each unit (same subtransaction) and TK004
-- among the outcomes a unit reports alone.
CREATE OR REPLACE FUNCTION takeout_commit(units json, at bigint) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
  u json;
  out json[] := '{}';
BEGIN
  IF json_array_length(units) = 1 THEN
    PERFORM takeout_fence_check(units->0);
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
      PERFORM takeout_fence_check(u);
      out := out || takeout_apply(u, at);
    EXCEPTION WHEN SQLSTATE 'TK001' OR SQLSTATE 'TK002' OR SQLSTATE 'TK003' OR SQLSTATE 'TK004' THEN
      out := out || json_build_object('err', SQLSTATE, 'message', SQLERRM);
    END;
  END LOOP;
  RETURN array_to_json(out);
END
$$;
