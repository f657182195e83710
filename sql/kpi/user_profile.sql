-- kpi.user_profile: fresh user state as of T = as_of(), one row per user in
-- amp.users (KPI_SPEC.md "kpi.user_profile"). The serving layer of the ranking
-- models: every part is keyed by user_id, so `WHERE user_id = $1` narrows each.
--
-- Rules (a window W(a, b] holds a < event_time <= b; nothing after T counts):
-- * last_active_at: latest event_time in listen_events or interactions with
--   event_time <= T; NULL when none.
-- * listen_minutes_7d = listen seconds in W(T - 7 days, T] / 60 (0 when none);
--   likes_7d = likes in W(T - 7 days, T].
-- * shows_listened_30d: distinct show_ids of listen events in W(T - 30 days, T],
--   show_ids missing from amp.shows included.
-- * top_genre_30d: among the non-NULL genres of the shows listened to in
--   W(T - 30 days, T], the one with the largest sum of listen_seconds (which may be 0);
--   sums compared as round(sum, 6) like every ranking of the spec, ties by genre name in
--   byte order; NULL when there is none (no listen, or only NULL-genre / unknown shows).
-- * follows_total: follow interactions with event_time <= T.
-- * as_of = T. Users without events get NULL, 0, 0, 0, NULL, 0.
CREATE VIEW kpi.user_profile AS
WITH listens AS (
    SELECT user_id, event_time, show_id, listen_seconds
    FROM amp.listen_events
    WHERE event_time <= as_of()
),
acts AS (
    SELECT user_id, event_time, kind
    FROM amp.interactions
    WHERE event_time <= as_of()
),
last_active AS (
    SELECT user_id, MAX(event_time) AS last_active_at
    FROM (
        SELECT user_id, event_time FROM listens
        UNION ALL
        SELECT user_id, event_time FROM acts
    ) AS events
    GROUP BY user_id
),
listen_7d AS (
    SELECT user_id, SUM(listen_seconds) AS seconds
    FROM listens
    WHERE event_time > as_of() - INTERVAL '7 days'
    GROUP BY user_id
),
acts_summary AS (
    SELECT
        user_id,
        COUNT(CASE WHEN kind = 'like' AND event_time > as_of() - INTERVAL '7 days' THEN 1 END)
            AS likes_7d,
        COUNT(CASE WHEN kind = 'follow' THEN 1 END) AS follows_total
    FROM acts
    GROUP BY user_id
),
shows_30d AS (
    SELECT user_id, COUNT(DISTINCT show_id) AS shows_listened_30d
    FROM listens
    WHERE event_time > as_of() - INTERVAL '30 days'
    GROUP BY user_id
),
genres_30d AS (
    SELECT l.user_id, s.genre, SUM(l.listen_seconds) AS seconds
    FROM listens AS l
    JOIN amp.shows AS s ON s.show_id = l.show_id
    WHERE l.event_time > as_of() - INTERVAL '30 days' AND s.genre IS NOT NULL
    GROUP BY l.user_id, s.genre
),
top_genre AS (
    SELECT user_id, genre
    FROM (
        SELECT user_id, genre,
               row_number() OVER (PARTITION BY user_id ORDER BY round(seconds, 6) DESC, genre)
                   AS rn
        FROM genres_30d
    ) AS ranked
    WHERE rn = 1
)
SELECT
    u.user_id,
    u.platform,
    u.country,
    a.last_active_at,
    CAST(COALESCE(l7.seconds, 0) AS DOUBLE) / 60 AS listen_minutes_7d,
    COALESCE(x.likes_7d, 0) AS likes_7d,
    COALESCE(s30.shows_listened_30d, 0) AS shows_listened_30d,
    g.genre AS top_genre_30d,
    COALESCE(x.follows_total, 0) AS follows_total,
    as_of() AS as_of
FROM amp.users AS u
LEFT JOIN last_active AS a ON a.user_id = u.user_id
LEFT JOIN listen_7d AS l7 ON l7.user_id = u.user_id
LEFT JOIN acts_summary AS x ON x.user_id = u.user_id
LEFT JOIN shows_30d AS s30 ON s30.user_id = u.user_id
LEFT JOIN top_genre AS g ON g.user_id = u.user_id
