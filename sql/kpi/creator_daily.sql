-- kpi.creator_daily: one row per (day, creator) with a new follower or a
-- listener (KPI_SPEC.md "kpi.creator_daily").
--
-- Rules:
-- * new_followers: follow interaction rows with that creator_id that day; a user who
--   follows twice counts twice; rows with a NULL creator_id count for nobody. The follow's
--   creator_id counts, whichever show it happened in.
-- * A listener of a creator: a user with a listen event, that day, for one of the creator's
--   shows (amp.shows.creator_id). Listens to a show_id missing from amp.shows have no
--   creator and count for nobody.
-- * unique_listeners: distinct such users; listen_minutes = sum(listen_seconds) / 60.
-- * display_name from amp.creators, NULL for a creator missing there (still listed).
CREATE VIEW kpi.creator_daily AS
WITH follows AS (
    SELECT event_date AS day, creator_id, COUNT(*) AS new_followers
    FROM amp.interactions
    WHERE kind = 'follow' AND creator_id IS NOT NULL
    GROUP BY event_date, creator_id
),
listens AS (
    SELECT l.event_date AS day, s.creator_id,
           COUNT(DISTINCT l.user_id) AS unique_listeners,
           SUM(l.listen_seconds) AS seconds
    FROM amp.listen_events AS l
    JOIN amp.shows AS s ON s.show_id = l.show_id
    GROUP BY l.event_date, s.creator_id
),
keys AS (
    SELECT day, creator_id FROM follows
    UNION
    SELECT day, creator_id FROM listens
)
SELECT
    k.day,
    k.creator_id,
    c.display_name,
    COALESCE(f.new_followers, 0) AS new_followers,
    COALESCE(l.unique_listeners, 0) AS unique_listeners,
    CAST(COALESCE(l.seconds, 0) AS DOUBLE) / 60 AS listen_minutes
FROM keys AS k
LEFT JOIN follows AS f ON f.day = k.day AND f.creator_id = k.creator_id
LEFT JOIN listens AS l ON l.day = k.day AND l.creator_id = k.creator_id
LEFT JOIN amp.creators AS c ON c.creator_id = k.creator_id
