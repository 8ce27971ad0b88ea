/**
 * The PostgreSQL schema of one store, as an append-only list of migrations, and the runner that applies them.
 *
 * Each store lives in a schema of its own (`gater_<storeId>`, see `schemaNameFor`), so one database holds many stores
 * and removing a store is `DROP SCHEMA ... CASCADE`. `<schema>.schema_migrations` records the migrations applied.
 * Several nodes may open the same store at once: the runner holds a transaction-scoped advisory lock while it reads
 * and applies migrations, so exactly one of them migrates and the others find the work done.
 *
 * Never edit a released migration: add one (a changed function is `CREATE OR REPLACE`d by a new migration).
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { UnavailableError } from '../../errors/index.ts';
import { schemaTooNew } from '../store-errors.ts';

export interface Migration {
  /** Migrations apply in version order: 1, 2, ... */
  version: number;
  description: string;
  /** The SQL, given the quoted schema name and the notification channel as a quoted literal. */
  sql(names: { s: string; channel: string }): string;
}

/** PostgreSQL truncates identifiers longer than this many bytes. */
const IDENTIFIER_MAX_BYTES = 63;
const SCHEMA_PREFIX = 'gater_';

/**
 * The schema of a store: `gater_<storeId>`, or, when that is longer than an identifier may be, a prefix of it and a
 * hash of the whole id. Store ids are case-sensitive and so are quoted identifiers.
 */
export function schemaNameFor(storeId: string): string {
  const name = SCHEMA_PREFIX + storeId;
  if (Buffer.byteLength(name) <= IDENTIFIER_MAX_BYTES) return name;
  const hash = createHash('sha256').update(storeId).digest('hex').slice(0, 16);
  return `${name.slice(0, IDENTIFIER_MAX_BYTES - hash.length - 1)}_${hash}`;
}

/** `name` as a quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events, streams, tags, snapshots, subscriptions; the append function',
    sql: ({ s, channel }) => `
      -- Facts about the store: its id (a schema name shortened by a hash must still belong to one store only).
      CREATE TABLE ${s}.store_meta (
        key   text PRIMARY KEY,
        value text NOT NULL
      );

      -- One row: the position the next event gets. Every append and every stream deletion locks this row and holds
      -- the lock until its transaction commits, so appends commit one after the other in position order. That makes
      -- positions gap-free in commit order (a reader that sees position n committed has every position below it
      -- committed too) and makes each expected-version check atomic with its write, across all nodes.
      CREATE TABLE ${s}.store_head (
        singleton     boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        next_position bigint NOT NULL
      );
      INSERT INTO ${s}.store_head (next_position) VALUES (0);

      -- A stream's integer id keeps the events table and its indexes small. A stream's row lives as long as it has
      -- events; its version is max(version) of its events (one index probe), so appends never update it.
      -- Collation "C": case-sensitive byte order, and LIKE 'prefix%' can use the index.
      CREATE TABLE ${s}.streams (
        sid       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream_id text COLLATE "C" NOT NULL UNIQUE
      );

      -- data, metadata and tags hold JSON text exactly as the client serialised it. Content types are NULL when
      -- they are the default (application/json). epoch_us is the commit time in microseconds since the epoch.
      CREATE TABLE ${s}.events (
        position              bigint PRIMARY KEY,
        sid                   bigint NOT NULL,
        version               bigint NOT NULL,
        event_id              uuid NOT NULL,
        event_type            text COLLATE "C" NOT NULL,
        data                  text,
        metadata              text,
        tags                  text,
        epoch_us              bigint NOT NULL,
        data_content_type     text,
        metadata_content_type text
      );
      -- Unique: two appends can never both write a stream version, whatever happens to the lock above.
      CREATE UNIQUE INDEX events_by_stream ON ${s}.events (sid, version);
      CREATE UNIQUE INDEX events_by_id ON ${s}.events (event_id);
      CREATE INDEX events_by_type ON ${s}.events (event_type, position);

      CREATE TABLE ${s}.event_tags (
        tag      text COLLATE "C" NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (tag, position)
      );

      CREATE TABLE ${s}.snapshots (
        source_uuid      text NOT NULL,
        stream_uuid      text NOT NULL,
        version          bigint NOT NULL,
        data             text NOT NULL,
        metadata         text NOT NULL,
        created_epoch_us bigint NOT NULL,
        PRIMARY KEY (source_uuid, stream_uuid, version)
      );
      CREATE INDEX snapshots_by_stream ON ${s}.snapshots (stream_uuid, version);

      CREATE TABLE ${s}.subscriptions (
        name             text PRIMARY KEY,
        type             text NOT NULL,
        selector         text NOT NULL,
        start_from       bigint NOT NULL,
        options          text NOT NULL,
        checkpoint       bigint NOT NULL,
        created_epoch_us bigint NOT NULL
      );

      CREATE TABLE ${s}.parked_events (
        subscription    text NOT NULL REFERENCES ${s}.subscriptions (name) ON DELETE CASCADE,
        position        bigint NOT NULL,
        event_id        text NOT NULL,
        stream_id       text NOT NULL,
        deliveries      integer NOT NULL,
        reason          text NOT NULL,
        parked_epoch_us bigint NOT NULL,
        PRIMARY KEY (subscription, position)
      );

      -- The first version of stream p_sid (whose last version is p_last) at a position >= p_from, by binary search
      -- over the versions: positions grow with versions within a stream. NULL when every event is before p_from.
      CREATE FUNCTION ${s}.first_version_at(p_sid bigint, p_last bigint, p_from bigint) RETURNS bigint
      LANGUAGE plpgsql STABLE AS $fn$
      DECLARE
        lo bigint := 0;
        hi bigint := p_last + 1;
        mid bigint;
        pos bigint;
      BEGIN
        WHILE lo < hi LOOP
          mid := (lo + hi) / 2;
          SELECT e.position INTO pos FROM ${s}.events e WHERE e.sid = p_sid AND e.version = mid;
          IF FOUND AND pos < p_from THEN lo := mid + 1; ELSE hi := mid; END IF;
        END LOOP;
        RETURN CASE WHEN lo > p_last THEN NULL ELSE lo END;
      END $fn$;

      -- Writes a batch of appends in one call (one round trip, one commit). Per append i: the stream p_streams[i],
      -- the expected version p_expected[i], p_counts[i] events and p_tag_counts[i] tag rows, taken in order from the
      -- flat per-event and per-tag arrays; p_id_checks[i] is 0 when every event id was generated, 1 when some were
      -- supplied, 2 when all were (then the append may repeat an earlier one). Each append succeeds or fails on its
      -- own; the outcome is per append:
      --   r_status 0: written; r_version, r_position: the stream version and position of its last event
      --   r_status 1: repeated an earlier append, nothing written; r_version, r_position as the earlier append had
      --   r_status 2: wrong expected version; r_version: the stream's current version
      --   r_status 3: an event id already recorded; r_version: the index of the event, r_detail: why
      -- r_epoch_us: the commit time shared by every event of the batch.
      CREATE FUNCTION ${s}.append_batch(
        p_streams text[], p_expected bigint[], p_counts integer[], p_tag_counts integer[], p_id_checks integer[],
        p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_tags text[],
        p_data_types text[], p_metadata_types text[], p_tag_names text[], p_tag_events integer[],
        OUT r_status integer[], OUT r_version bigint[], OUT r_position bigint[], OUT r_detail text[],
        OUT r_epoch_us bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        n integer := coalesce(array_length(p_streams, 1), 0);
        next_pos bigint;
        a integer := 1;  -- first event of the current append in the flat arrays
        b integer;       -- its last event
        ta integer := 1; -- likewise for its tag rows
        tb integer;
        cnt integer;
        v_sid bigint;
        v_current bigint;
        v_expected bigint;
        f_sid bigint;
        f_version bigint;
        f_index integer;
        wrote boolean := false;
      BEGIN
        -- The store's lock, held to the end of the transaction (see store_head).
        SELECT h.next_position INTO next_pos FROM ${s}.store_head h FOR UPDATE;
        -- Taken under the lock, so commit times never go back as positions go forward.
        r_epoch_us := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        r_status := array_fill(0, ARRAY[n]);
        r_version := array_fill(NULL::bigint, ARRAY[n]);
        r_position := array_fill(NULL::bigint, ARRAY[n]);
        r_detail := array_fill(NULL::text, ARRAY[n]);
        FOR i IN 1..n LOOP
          cnt := p_counts[i];
          b := a + cnt - 1;
          tb := ta + p_tag_counts[i] - 1;
          <<one_append>>
          BEGIN
            SELECT s.sid, coalesce((SELECT max(e.version) FROM ${s}.events e WHERE e.sid = s.sid), -1)
              INTO v_sid, v_current FROM ${s}.streams s WHERE s.stream_id = p_streams[i];
            IF NOT FOUND THEN
              v_sid := NULL;
              v_current := -1;
            END IF;

            IF p_id_checks[i] = 2 THEN
              -- Before the version check: a retried append whose first attempt succeeded gets the same answer.
              SELECT e.sid, e.version INTO f_sid, f_version FROM ${s}.events e WHERE e.event_id = p_ids[a];
              IF FOUND THEN
                IF f_sid IS DISTINCT FROM v_sid THEN
                  r_status[i] := 3;
                  r_version[i] := 0;
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                  EXIT one_append;
                END IF;
                SELECT min(u.k) INTO f_index FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                  LEFT JOIN ${s}.events e ON e.sid = v_sid AND e.version = f_version + u.k - 1
                  WHERE e.event_id IS DISTINCT FROM u.id;
                IF f_index IS NOT NULL THEN
                  r_status[i] := 3;
                  r_version[i] := f_index - 1;
                  r_detail[i] := format('does not continue the earlier append of events[0].eventId (recorded at '
                    'version %s); a retry must repeat the earlier events exactly', f_version);
                  EXIT one_append;
                END IF;
                r_status[i] := 1;
                r_version[i] := f_version + cnt - 1;
                SELECT e.position INTO STRICT f_version FROM ${s}.events e
                  WHERE e.sid = v_sid AND e.version = r_version[i];
                r_position[i] := f_version;
                EXIT one_append;
              END IF;
            END IF;

            v_expected := p_expected[i];
            IF NOT (v_expected = -2 OR (v_expected = -1 AND v_current = -1) OR (v_expected = -4 AND v_current >= 0)
                    OR v_expected = v_current) THEN
              r_status[i] := 2;
              r_version[i] := v_current;
              EXIT one_append;
            END IF;

            IF p_id_checks[i] > 0 THEN
              SELECT u.k, e.sid, e.version INTO f_index, f_sid, f_version
                FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                JOIN ${s}.events e ON e.event_id = u.id ORDER BY u.k LIMIT 1;
              IF FOUND THEN
                r_status[i] := 3;
                r_version[i] := f_index - 1;
                IF f_sid = v_sid THEN
                  r_detail[i] := format('is already recorded in this stream at version %s; a retry must repeat '
                    'the earlier events exactly', f_version);
                ELSE
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                END IF;
                EXIT one_append;
              END IF;
            END IF;

            IF v_sid IS NULL THEN
              INSERT INTO ${s}.streams (stream_id) VALUES (p_streams[i]) RETURNING sid INTO v_sid;
            END IF;
            INSERT INTO ${s}.events (position, sid, version, event_id, event_type, data, metadata, tags, epoch_us,
                                     data_content_type, metadata_content_type)
              SELECT next_pos + u.k - 1, v_sid, v_current + u.k, u.id, u.t, u.d, u.m, u.g, r_epoch_us, u.dc, u.mc
              FROM unnest(p_ids[a:b], p_types[a:b], p_data[a:b], p_metadata[a:b], p_tags[a:b], p_data_types[a:b],
                          p_metadata_types[a:b]) WITH ORDINALITY AS u(id, t, d, m, g, dc, mc, k);
            IF tb >= ta THEN
              INSERT INTO ${s}.event_tags (tag, position)
                SELECT t.name, next_pos + t.ev - a FROM unnest(p_tag_names[ta:tb], p_tag_events[ta:tb]) AS t(name, ev);
            END IF;
            next_pos := next_pos + cnt;
            wrote := true;
            r_version[i] := v_current + cnt;
            r_position[i] := next_pos - 1;
          END one_append;
          a := b + 1;
          ta := tb + 1;
        END LOOP;
        IF wrote THEN
          UPDATE ${s}.store_head SET next_position = next_pos;
          -- A wake-up for the other nodes' live readers, sent at commit; they read the store from where they are.
          PERFORM pg_notify(${channel}, (next_pos - 1)::text);
        END IF;
      END $fn$;
    `,
  },
  {
    version: 2,
    description: 'first tag of an event in its row; event_tags becomes event_extra_tags',
    sql: ({ s, channel }) => `
      -- An event's first tag moves into its own row, indexed by (first_tag, position): most events carry one tag or
      -- none, and a row of event_tags per tag (a heap tuple and an index entry) cost a fifth of an append. Its second
      -- and later tags stay in a table, renamed to say so (and so that a node still running the code of version 1
      -- fails loudly, rather than read tags from half the places). Each tag of an event is in exactly one of the
      -- two places: events written before this migration keep every tag in the table, with first_tag NULL.
      ALTER TABLE ${s}.event_tags RENAME TO event_extra_tags;
      ALTER INDEX ${s}.event_tags_pkey RENAME TO event_extra_tags_pkey;
      ALTER TABLE ${s}.events ADD COLUMN first_tag text COLLATE "C";
      CREATE INDEX events_by_first_tag ON ${s}.events (first_tag, position) WHERE first_tag IS NOT NULL;

      -- The append function of version 1 with p_first_tags, one per event (NULL: no tags), and p_tag_counts,
      -- p_tag_names and p_tag_events for the second and later tags only.
      DROP FUNCTION ${s}.append_batch(text[], bigint[], integer[], integer[], integer[], uuid[], text[], text[],
        text[], text[], text[], text[], text[], integer[]);
      CREATE FUNCTION ${s}.append_batch(
        p_streams text[], p_expected bigint[], p_counts integer[], p_tag_counts integer[], p_id_checks integer[],
        p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_tags text[], p_first_tags text[],
        p_data_types text[], p_metadata_types text[], p_tag_names text[], p_tag_events integer[],
        OUT r_status integer[], OUT r_version bigint[], OUT r_position bigint[], OUT r_detail text[],
        OUT r_epoch_us bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        n integer := coalesce(array_length(p_streams, 1), 0);
        next_pos bigint;
        a integer := 1;  -- first event of the current append in the flat arrays
        b integer;       -- its last event
        ta integer := 1; -- likewise for its tag rows
        tb integer;
        cnt integer;
        v_sid bigint;
        v_current bigint;
        v_expected bigint;
        f_sid bigint;
        f_version bigint;
        f_index integer;
        wrote boolean := false;
      BEGIN
        -- The store's lock, held to the end of the transaction (see store_head).
        SELECT h.next_position INTO next_pos FROM ${s}.store_head h FOR UPDATE;
        -- Taken under the lock, so commit times never go back as positions go forward.
        r_epoch_us := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        r_status := array_fill(0, ARRAY[n]);
        r_version := array_fill(NULL::bigint, ARRAY[n]);
        r_position := array_fill(NULL::bigint, ARRAY[n]);
        r_detail := array_fill(NULL::text, ARRAY[n]);
        FOR i IN 1..n LOOP
          cnt := p_counts[i];
          b := a + cnt - 1;
          tb := ta + p_tag_counts[i] - 1;
          <<one_append>>
          BEGIN
            SELECT s.sid, coalesce((SELECT max(e.version) FROM ${s}.events e WHERE e.sid = s.sid), -1)
              INTO v_sid, v_current FROM ${s}.streams s WHERE s.stream_id = p_streams[i];
            IF NOT FOUND THEN
              v_sid := NULL;
              v_current := -1;
            END IF;

            IF p_id_checks[i] = 2 THEN
              -- Before the version check: a retried append whose first attempt succeeded gets the same answer.
              SELECT e.sid, e.version INTO f_sid, f_version FROM ${s}.events e WHERE e.event_id = p_ids[a];
              IF FOUND THEN
                IF f_sid IS DISTINCT FROM v_sid THEN
                  r_status[i] := 3;
                  r_version[i] := 0;
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                  EXIT one_append;
                END IF;
                SELECT min(u.k) INTO f_index FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                  LEFT JOIN ${s}.events e ON e.sid = v_sid AND e.version = f_version + u.k - 1
                  WHERE e.event_id IS DISTINCT FROM u.id;
                IF f_index IS NOT NULL THEN
                  r_status[i] := 3;
                  r_version[i] := f_index - 1;
                  r_detail[i] := format('does not continue the earlier append of events[0].eventId (recorded at '
                    'version %s); a retry must repeat the earlier events exactly', f_version);
                  EXIT one_append;
                END IF;
                r_status[i] := 1;
                r_version[i] := f_version + cnt - 1;
                SELECT e.position INTO STRICT f_version FROM ${s}.events e
                  WHERE e.sid = v_sid AND e.version = r_version[i];
                r_position[i] := f_version;
                EXIT one_append;
              END IF;
            END IF;

            v_expected := p_expected[i];
            IF NOT (v_expected = -2 OR (v_expected = -1 AND v_current = -1) OR (v_expected = -4 AND v_current >= 0)
                    OR v_expected = v_current) THEN
              r_status[i] := 2;
              r_version[i] := v_current;
              EXIT one_append;
            END IF;

            IF p_id_checks[i] > 0 THEN
              SELECT u.k, e.sid, e.version INTO f_index, f_sid, f_version
                FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                JOIN ${s}.events e ON e.event_id = u.id ORDER BY u.k LIMIT 1;
              IF FOUND THEN
                r_status[i] := 3;
                r_version[i] := f_index - 1;
                IF f_sid = v_sid THEN
                  r_detail[i] := format('is already recorded in this stream at version %s; a retry must repeat '
                    'the earlier events exactly', f_version);
                ELSE
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                END IF;
                EXIT one_append;
              END IF;
            END IF;

            IF v_sid IS NULL THEN
              INSERT INTO ${s}.streams (stream_id) VALUES (p_streams[i]) RETURNING sid INTO v_sid;
            END IF;
            INSERT INTO ${s}.events (position, sid, version, event_id, event_type, data, metadata, tags, first_tag,
                                     epoch_us, data_content_type, metadata_content_type)
              SELECT next_pos + u.k - 1, v_sid, v_current + u.k, u.id, u.t, u.d, u.m, u.g, u.f, r_epoch_us, u.dc, u.mc
              FROM unnest(p_ids[a:b], p_types[a:b], p_data[a:b], p_metadata[a:b], p_tags[a:b], p_first_tags[a:b],
                          p_data_types[a:b], p_metadata_types[a:b]) WITH ORDINALITY AS u(id, t, d, m, g, f, dc, mc, k);
            IF tb >= ta THEN
              INSERT INTO ${s}.event_extra_tags (tag, position)
                SELECT t.name, next_pos + t.ev - a FROM unnest(p_tag_names[ta:tb], p_tag_events[ta:tb]) AS t(name, ev);
            END IF;
            next_pos := next_pos + cnt;
            wrote := true;
            r_version[i] := v_current + cnt;
            r_position[i] := next_pos - 1;
          END one_append;
          a := b + 1;
          ta := tb + 1;
        END LOOP;
        IF wrote THEN
          UPDATE ${s}.store_head SET next_position = next_pos;
          -- A wake-up for the other nodes' live readers, sent at commit; they read the store from where they are.
          PERFORM pg_notify(${channel}, (next_pos - 1)::text);
        END IF;
      END $fn$;
    `,
  },
  {
    version: 3,
    description: 'append function writes each run of appends with one insert; event ids probed on request',
    sql: ({ s, channel }) => `
      -- The append function of version 2, cheaper per append and per event, with the same answers.
      -- * Version 2 wrote each append with an INSERT over slices of the flat arrays: a statement per append, and a
      --   slice copies, so a batch of many small appends cost time quadratic in its size. Here the appends written
      --   are only recorded (their stream, and the bases of their versions and positions, indexed by append), and
      --   the events of a run of appends are written by one INSERT over one slice. A run ends at the batch's end,
      --   or before an append with p_run_breaks[i]: the client sets it when an earlier append of the batch was to
      --   the same stream or carried one of its event ids, since the append must see those events (its version,
      --   whether it repeats them, whether its ids are taken).
      -- * Each event's append (1-based) is in p_event_appends, as the client flattened them.
      -- * Event ids are probed for earlier use only when p_probe_ids. Otherwise an id used before makes the
      --   unique index on event_id fail the whole call, which writes nothing, and the client calls again with
      --   probes for each append's own answer. The probe of an append that repeats an earlier one (p_id_checks 2,
      --   by its first id) always runs: it answers a retry.
      -- Version 2's function stays (another signature): nodes still running version 2 keep appending, under the
      -- same lock, until they are upgraded.
      CREATE FUNCTION ${s}.append_batch(
        p_streams text[], p_expected bigint[], p_counts integer[], p_tag_counts integer[], p_id_checks integer[],
        p_run_breaks boolean[], p_probe_ids boolean, p_ids uuid[], p_types text[], p_data text[],
        p_metadata text[], p_tags text[], p_first_tags text[], p_data_types text[], p_metadata_types text[],
        p_event_appends integer[], p_tag_names text[], p_tag_events integer[],
        OUT r_status integer[], OUT r_version bigint[], OUT r_position bigint[], OUT r_detail text[],
        OUT r_epoch_us bigint)
      LANGUAGE plpgsql AS $fn$
      DECLARE
        n integer := coalesce(array_length(p_streams, 1), 0);
        next_pos bigint;
        a integer := 1;  -- first event of the current append in the flat arrays
        b integer;       -- its last event
        ta integer := 1; -- likewise for its tag rows
        tb integer;
        run_a integer := 1;  -- first event of the current run (appends not yet inserted)
        run_ta integer := 1; -- its first tag row
        -- Per append, for those written (w_sid >= 0): an event at flat index k gets stream w_sid, version
        -- w_version_base + k and position w_position_base + k. No NULLs, so that a subscript costs the same at any
        -- index.
        w_sid bigint[] := array_fill(-1::bigint, ARRAY[n]);
        w_version_base bigint[] := array_fill(0::bigint, ARRAY[n]);
        w_position_base bigint[] := array_fill(0::bigint, ARRAY[n]);
        cnt integer;
        v_sid bigint;
        v_current bigint;
        v_expected bigint;
        f_sid bigint;
        f_version bigint;
        f_index integer;
        wrote boolean := false;
      BEGIN
        -- The store's lock, held to the end of the transaction (see store_head).
        SELECT h.next_position INTO next_pos FROM ${s}.store_head h FOR UPDATE;
        -- Taken under the lock, so commit times never go back as positions go forward.
        r_epoch_us := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        r_status := array_fill(0, ARRAY[n]);
        r_version := array_fill(NULL::bigint, ARRAY[n]);
        r_position := array_fill(NULL::bigint, ARRAY[n]);
        r_detail := array_fill(NULL::text, ARRAY[n]);
        FOR i IN 1..n + 1 LOOP
          -- The end of a run: write its events.
          IF run_a < a AND (i > n OR p_run_breaks[i]) THEN
            INSERT INTO ${s}.events (position, sid, version, event_id, event_type, data, metadata, tags, first_tag,
                                     epoch_us, data_content_type, metadata_content_type)
              SELECT w_position_base[u.ap] + u.k + run_a - 1, w_sid[u.ap], w_version_base[u.ap] + u.k + run_a - 1,
                     u.id, u.t, u.d, u.m, u.g, u.f, r_epoch_us, u.dc, u.mc
              FROM unnest(p_event_appends[run_a:a - 1], p_ids[run_a:a - 1], p_types[run_a:a - 1],
                          p_data[run_a:a - 1], p_metadata[run_a:a - 1], p_tags[run_a:a - 1],
                          p_first_tags[run_a:a - 1], p_data_types[run_a:a - 1], p_metadata_types[run_a:a - 1])
                WITH ORDINALITY AS u(ap, id, t, d, m, g, f, dc, mc, k)
              WHERE w_sid[u.ap] >= 0;
            IF run_ta < ta THEN
              INSERT INTO ${s}.event_extra_tags (tag, position)
                SELECT t.name, w_position_base[p_event_appends[t.ev]] + t.ev
                FROM unnest(p_tag_names[run_ta:ta - 1], p_tag_events[run_ta:ta - 1]) AS t(name, ev)
                WHERE w_sid[p_event_appends[t.ev]] >= 0;
            END IF;
            run_a := a;
            run_ta := ta;
          END IF;
          EXIT WHEN i > n;

          SELECT s.sid, coalesce((SELECT max(e.version) FROM ${s}.events e WHERE e.sid = s.sid), -1)
            INTO v_sid, v_current FROM ${s}.streams s WHERE s.stream_id = p_streams[i];
          IF NOT FOUND THEN
            v_sid := NULL;
            v_current := -1;
          END IF;

          cnt := p_counts[i];
          b := a + cnt - 1;
          tb := ta + p_tag_counts[i] - 1;
          <<one_append>>
          BEGIN
            IF p_id_checks[i] = 2 THEN
              -- Before the version check: a retried append whose first attempt succeeded gets the same answer.
              SELECT e.sid, e.version INTO f_sid, f_version FROM ${s}.events e WHERE e.event_id = p_ids[a];
              IF FOUND THEN
                IF f_sid IS DISTINCT FROM v_sid THEN
                  r_status[i] := 3;
                  r_version[i] := 0;
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                  EXIT one_append;
                END IF;
                SELECT min(u.k) INTO f_index FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                  LEFT JOIN ${s}.events e ON e.sid = v_sid AND e.version = f_version + u.k - 1
                  WHERE e.event_id IS DISTINCT FROM u.id;
                IF f_index IS NOT NULL THEN
                  r_status[i] := 3;
                  r_version[i] := f_index - 1;
                  r_detail[i] := format('does not continue the earlier append of events[0].eventId (recorded at '
                    'version %s); a retry must repeat the earlier events exactly', f_version);
                  EXIT one_append;
                END IF;
                r_status[i] := 1;
                r_version[i] := f_version + cnt - 1;
                SELECT e.position INTO STRICT f_version FROM ${s}.events e
                  WHERE e.sid = v_sid AND e.version = r_version[i];
                r_position[i] := f_version;
                EXIT one_append;
              END IF;
            END IF;

            v_expected := p_expected[i];
            IF NOT (v_expected = -2 OR (v_expected = -1 AND v_current = -1) OR (v_expected = -4 AND v_current >= 0)
                    OR v_expected = v_current) THEN
              r_status[i] := 2;
              r_version[i] := v_current;
              EXIT one_append;
            END IF;

            IF p_probe_ids AND p_id_checks[i] > 0 THEN
              SELECT u.k, e.sid, e.version INTO f_index, f_sid, f_version
                FROM unnest(p_ids[a:b]) WITH ORDINALITY AS u(id, k)
                JOIN ${s}.events e ON e.event_id = u.id ORDER BY u.k LIMIT 1;
              IF FOUND THEN
                r_status[i] := 3;
                r_version[i] := f_index - 1;
                IF f_sid = v_sid THEN
                  r_detail[i] := format('is already recorded in this stream at version %s; a retry must repeat '
                    'the earlier events exactly', f_version);
                ELSE
                  r_detail[i] := format('is already recorded in another stream (%L)',
                    (SELECT s.stream_id FROM ${s}.streams s WHERE s.sid = f_sid));
                END IF;
                EXIT one_append;
              END IF;
            END IF;

            IF v_sid IS NULL THEN
              INSERT INTO ${s}.streams (stream_id) VALUES (p_streams[i]) RETURNING sid INTO v_sid;
            END IF;
            w_sid[i] := v_sid;
            w_version_base[i] := v_current - a + 1;
            w_position_base[i] := next_pos - a;
            next_pos := next_pos + cnt;
            wrote := true;
            r_version[i] := v_current + cnt;
            r_position[i] := next_pos - 1;
          END one_append;
          a := b + 1;
          ta := tb + 1;
        END LOOP;
        IF wrote THEN
          UPDATE ${s}.store_head SET next_position = next_pos;
          -- A wake-up for the other nodes' live readers, sent at commit; they read the store from where they are.
          PERFORM pg_notify(${channel}, (next_pos - 1)::text);
        END IF;
      END $fn$;
    `,
  },
  {
    version: 4,
    description: 'stream deletions finish outside the store lock: deleted_streams',
    sql: ({ s }) => `
      -- A stream is deleted in two steps. Under the store's lock only its row goes, and its id is recorded here: from
      -- then on no read finds its events (every read reaches events through streams) and a new stream of that name
      -- gets a new id. Its events and tag rows are then removed in small chunks without the lock, so appends on every
      -- node go on meanwhile and a stream of any size can be deleted within the statement timeout. The row here goes
      -- last; a store opened with rows here finishes those deletions.
      CREATE TABLE ${s}.deleted_streams (
        sid bigint PRIMARY KEY
      );
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Brings the store's schema up to SCHEMA_VERSION (or `target`, for tests of an upgrade), creating it when absent.
 * Safe when several nodes run it at once; refuses a schema written by a newer gater, or one that belongs to another
 * store id.
 */
export async function migrate(
  client: pg.ClientBase,
  schemaName: string,
  storeId: string,
  target: number = SCHEMA_VERSION,
): Promise<void> {
  const s = quoteIdent(schemaName);
  await client.query('BEGIN');
  try {
    // Keyed by the schema, so that stores migrate independently; released at COMMIT or ROLLBACK.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gater.migrate:${schemaName}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, description text NOT NULL, ` +
        'applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ v: number }>(
      `SELECT coalesce(max(version), 0)::integer AS v FROM ${s}.schema_migrations`,
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw schemaTooNew(storeId, current, SCHEMA_VERSION);
    }
    for (const migration of MIGRATIONS) {
      if (migration.version <= current || migration.version > target) continue;
      await client.query(migration.sql({ s, channel: quoteLiteral(schemaName) }));
      await client.query(`INSERT INTO ${s}.schema_migrations (version, description) VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
    }
    await client.query(`INSERT INTO ${s}.store_meta (key, value) VALUES ('store_id', $1) ON CONFLICT DO NOTHING`, [
      storeId,
    ]);
    const owner = await client.query<{ value: string }>(`SELECT value FROM ${s}.store_meta WHERE key = 'store_id'`);
    if (owner.rows[0]?.value !== storeId) {
      throw new UnavailableError(
        `schema ${schemaName} belongs to store '${owner.rows[0]?.value}', not '${storeId}'`,
        { storeId, schema: schemaName },
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
