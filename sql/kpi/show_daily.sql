-- kpi.show_daily: one row per (day, show_id) with a listen event or an
-- interaction carrying that show_id (KPI_SPEC.md "kpi.show_daily").
--
-- Rules:
-- * Interactions with a NULL show_id belong to no show and make no row.
-- * title, genre, creator_id come from amp.shows; NULL for a show_id missing there
--   (the row is still listed: the events carry the show_id).
-- * unique_listeners: distinct users with a listen event for the show that day;
--   listen_minutes = sum(listen_seconds) / 60 (0 when nobody listened).
-- * likes, follows, chats, call_ins: interactions of that kind with that show_id that day
--   (a follow counts for the show it happened in, whatever its creator_id).
-- * engaged_listeners: users who listened to the show that day AND made an engaging
--   interaction (like, follow, notify_enable) with that show_id that day.
-- * engagement_rate = engaged_listeners / unique_listeners, NULL when nobody listened.
CREATE VIEW kpi.show_daily AS
WITH listens AS (
    SELECT event_date AS day, show_id,
           COUNT(DISTINCT user_id) AS unique_listeners,
           SUM(listen_seconds) AS seconds
    FROM amp.listen_events
    GROUP BY event_date, show_id
),
acts AS (
    SELECT event_date AS day, show_id,
           COUNT(CASE WHEN kind = 'like' THEN 1 END) AS likes,
           COUNT(CASE WHEN kind = 'follow' THEN 1 END) AS follows,
           COUNT(CASE WHEN kind = 'chat' THEN 1 END) AS chats,
           COUNT(CASE WHEN kind = 'call_in' THEN 1 END) AS call_ins
    FROM amp.interactions
    WHERE show_id IS NOT NULL
    GROUP BY event_date, show_id
),
engaged AS (
    SELECT l.day, l.show_id, COUNT(*) AS engaged_listeners
    FROM (SELECT DISTINCT event_date AS day, show_id, user_id FROM amp.listen_events) AS l
    JOIN (
        SELECT DISTINCT event_date AS day, show_id, user_id
        FROM amp.interactions
        WHERE show_id IS NOT NULL AND kind IN ('like', 'follow', 'notify_enable')
    ) AS e ON e.day = l.day AND e.show_id = l.show_id AND e.user_id = l.user_id
    GROUP BY l.day, l.show_id
),
keys AS (
    SELECT day, show_id FROM listens
    UNION
    SELECT day, show_id FROM acts
)
SELECT
    k.day,
    k.show_id,
    s.title,
    s.genre,
    s.creator_id,
    COALESCE(l.unique_listeners, 0) AS unique_listeners,
    CAST(COALESCE(l.seconds, 0) AS DOUBLE) / 60 AS listen_minutes,
    COALESCE(a.likes, 0) AS likes,
    COALESCE(a.follows, 0) AS follows,
    COALESCE(a.chats, 0) AS chats,
    COALESCE(a.call_ins, 0) AS call_ins,
    COALESCE(e.engaged_listeners, 0) AS engaged_listeners,
    CAST(COALESCE(e.engaged_listeners, 0) AS DOUBLE) / NULLIF(l.unique_listeners, 0)
        AS engagement_rate
FROM keys AS k
LEFT JOIN listens AS l ON l.day = k.day AND l.show_id = k.show_id
LEFT JOIN acts AS a ON a.day = k.day AND a.show_id = k.show_id
LEFT JOIN engaged AS e ON e.day = k.day AND e.show_id = k.show_id
LEFT JOIN amp.shows AS s ON s.show_id = k.show_id
