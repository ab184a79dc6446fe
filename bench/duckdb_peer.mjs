// duckdb_peer.mjs: the batch job a user would run instead of activityd,
// in DuckDB (@duckdb/node-api): DAU, MAU and per-user session statistics
// from the interactions CSV, recomputed in full.
//
//   node duckdb_peer.mjs CSV [CSV...]
//
// Semantics as activityd's defaults (SPEC): an action is active iff
// 10000 < duration_ms < 14400000, counted on the UTC day and month of its
// start; a session continues while an event starts at most 10 minutes after
// the previous event's start (SPEC section 2: the gap is between
// timestamps), and ends at the max of ts + duration. Prints one JSON object: seconds of the full
// recompute (CSV read included), rows, the MAU per month, the number of DAU
// days, sessions and users with sessions.
import { DuckDBInstance } from '@duckdb/node-api';

const files = process.argv.slice(2);
if (files.length === 0) {
	console.error('usage: node duckdb_peer.mjs CSV [CSV...]');
	process.exit(2);
}
const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');

const t0 = process.hrtime.bigint();
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET TimeZone = 'UTC'`);
await con.run(`
CREATE TABLE ev AS
SELECT user_id,
       epoch_ms(CAST("timestamp" AS TIMESTAMP)) AS ts,
       CAST(duration_ms AS BIGINT) AS dur
FROM read_csv([${list}], header = true, columns = {
  'user_id': 'VARCHAR', 'timestamp': 'VARCHAR', 'action_type': 'VARCHAR',
  'page_id': 'VARCHAR', 'duration_ms': 'BIGINT', 'app_version': 'VARCHAR'})`);
const dau = await con.runAndReadAll(`
SELECT CAST(to_timestamp(ts / 1000) AS DATE) AS day,
       count(DISTINCT user_id) AS dau
FROM ev WHERE dur > 10000 AND dur < 14400000
GROUP BY day ORDER BY day`);
const mau = await con.runAndReadAll(`
SELECT strftime(to_timestamp(ts / 1000), '%Y-%m') AS month,
       count(DISTINCT user_id) AS mau
FROM ev WHERE dur > 10000 AND dur < 14400000
GROUP BY month ORDER BY month`);
const sess = await con.runAndReadAll(`
WITH o AS (
  SELECT user_id, ts, dur,
         lag(ts) OVER (PARTITION BY user_id ORDER BY ts) AS prev_ts
  FROM ev),
m AS (
  SELECT user_id, ts, dur,
         sum(CASE WHEN prev_ts IS NULL OR ts - prev_ts > 600000
             THEN 1 ELSE 0 END)
           OVER (PARTITION BY user_id ORDER BY ts
             ROWS UNBOUNDED PRECEDING) AS sid
  FROM o),
s AS (
  SELECT user_id, sid, max(ts + dur) - min(ts) AS len
  FROM m GROUP BY user_id, sid),
u AS (
  SELECT user_id, count(*) AS total_sessions,
         avg(len) / 1000.0 AS avg_session_duration
  FROM s GROUP BY user_id)
SELECT count(*) AS users, sum(total_sessions) AS sessions FROM u`);
const t1 = process.hrtime.bigint();

const rows = (await con.runAndReadAll('SELECT count(*) FROM ev')).getRows();
const out = {
	seconds: Number(t1 - t0) / 1e9,
	rows: Number(rows[0][0]),
	dau_days: dau.getRows().length,
	mau: Object.fromEntries(mau.getRows().map((r) => [r[0], Number(r[1])])),
	session_users: Number(sess.getRows()[0][0]),
	sessions: Number(sess.getRows()[0][1]),
};
console.log(JSON.stringify(out));
