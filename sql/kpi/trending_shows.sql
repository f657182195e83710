-- kpi.trending_shows: what is hot right now, as of T = as_of() (the session's
-- laketap.as_of, or the query's start time) (KPI_SPEC.md "kpi.trending_shows").
--
-- Rules:
-- * Windows (a window W(a, b] holds a < event_time <= b):
--     current  C = W(T - 24 hours, T]
--     previous P = W(T - 48 hours, T - 24 hours]
--   so an event at exactly T - 24 hours is in P, not in C; one at exactly T - 48 hours
--   is in neither; events after T are in neither.
-- * Per show_id and window: unique_listeners (distinct users with a listen event),
--   listen_minutes (sum(listen_seconds) / 60), likes, follows, notify_enables
--   (interactions of that kind carrying that show_id; a NULL show_id counts for no show),
--   score = unique_listeners + 0.1 * listen_minutes + 2 * likes + 3 * follows + 5 * notify_enables.
-- * One row per show_id whose score in C is > 0, show_ids missing from amp.shows included
--   (their title, genre and creator_id are NULL). A show with only chats scores 0: no row.
-- * rank: row_number over round(score, 6) DESC, then show_id: ranks start at 1, have no gaps,
--   are distinct, and scores equal on paper but different in the last bits of a double
--   tie (then the smaller show_id first). The score column itself is not rounded.
-- * prev_score: score in P, 0 when none. prev_rank: the rank among ALL show_ids with a
--   score in P > 0 (listed in C or not), same ordering; NULL when not ranked in P.
-- * score_change_pct = (score - prev_score) / prev_score * 100, NULL when prev_score = 0.
-- * as_of = T.
CREATE VIEW kpi.trending_shows AS
WITH events AS (
    -- Listen events and engaging interactions of both windows, labelled C or P.
    SELECT
        CASE WHEN event_time > as_of() - INTERVAL '24 hours' THEN 'C' ELSE 'P' END AS w,
        show_id,
        user_id AS listener,
        listen_seconds AS seconds,
        CAST(NULL AS VARCHAR) AS kind
    FROM amp.listen_events
    WHERE event_time > as_of() - INTERVAL '48 hours' AND event_time <= as_of()
    UNION ALL
    SELECT
        CASE WHEN event_time > as_of() - INTERVAL '24 hours' THEN 'C' ELSE 'P' END AS w,
        show_id,
        CAST(NULL AS BIGINT) AS listener,
        CAST(NULL AS DOUBLE) AS seconds,
        CAST(kind AS VARCHAR) AS kind
    FROM amp.interactions
    WHERE event_time > as_of() - INTERVAL '48 hours' AND event_time <= as_of()
      AND show_id IS NOT NULL
      AND kind IN ('like', 'follow', 'notify_enable')
),
per_window AS (
    SELECT
        w,
        show_id,
        COUNT(DISTINCT listener) AS unique_listeners,
        CAST(COALESCE(SUM(seconds), 0) AS DOUBLE) / 60 AS listen_minutes,
        COUNT(CASE WHEN kind = 'like' THEN 1 END) AS likes,
        COUNT(CASE WHEN kind = 'follow' THEN 1 END) AS follows,
        COUNT(CASE WHEN kind = 'notify_enable' THEN 1 END) AS notify_enables
    FROM events
    GROUP BY w, show_id
),
scored AS (
    SELECT
        *,
        CAST(unique_listeners AS DOUBLE) + 0.1 * listen_minutes + 2 * likes
            + 3 * follows + 5 * notify_enables AS score
    FROM per_window
),
cur AS (
    SELECT *, row_number() OVER (ORDER BY round(score, 6) DESC, show_id) AS rnk
    FROM scored
    WHERE w = 'C' AND score > 0
),
prev AS (
    SELECT show_id, score, row_number() OVER (ORDER BY round(score, 6) DESC, show_id) AS rnk
    FROM scored
    WHERE w = 'P' AND score > 0
)
SELECT
    CAST(c.rnk AS BIGINT) AS rank,
    c.show_id,
    s.title,
    s.genre,
    s.creator_id,
    c.unique_listeners,
    c.listen_minutes,
    c.likes,
    c.follows,
    c.notify_enables,
    c.score,
    COALESCE(p.score, CAST(0 AS DOUBLE)) AS prev_score,
    CAST(p.rnk AS BIGINT) AS prev_rank,
    (c.score - p.score) / NULLIF(p.score, 0) * 100 AS score_change_pct,
    as_of() AS as_of
FROM cur AS c
LEFT JOIN prev AS p ON p.show_id = c.show_id
LEFT JOIN amp.shows AS s ON s.show_id = c.show_id
