-- kpi.engagement_daily: daily engagement, one row per day that has any listen
-- event or interaction (KPI_SPEC.md "kpi.engagement_daily").
--
-- Rules (KPI_SPEC.md "Conventions" and "The lake"):
-- * A day d holds the rows with event_date = d; days with neither a listen event
--   nor an interaction have no row (kpi.daily_flash_report fills them).
-- * dau: users with at least one listen event or interaction that day (active users).
-- * listeners: distinct users in listen_events that day (0 on an interactions-only day).
-- * listen_hours = sum(listen_seconds) / 3600, 0 when nobody listened (a sum over no rows is 0).
-- * avg_listen_minutes = sum(listen_seconds) / 60 / listeners: NULL when listeners = 0
--   (a ratio with a 0 or NULL denominator is NULL).
-- * likes, follows, notify_enables, chats, call_ins: interaction rows of that kind.
-- * engaged_users: distinct users with an engaging interaction (like, follow, notify_enable).
-- * engagement_rate = engaged_users / dau (dau >= 1 on every listed day).
-- Counts are BIGINT, sums and rates DOUBLE.
CREATE VIEW kpi.engagement_daily AS
WITH active AS (
    SELECT day, COUNT(DISTINCT user_id) AS dau
    FROM (
        SELECT event_date AS day, user_id FROM amp.listen_events
        UNION ALL
        SELECT event_date AS day, user_id FROM amp.interactions
    ) AS events
    GROUP BY day
),
listens AS (
    SELECT event_date AS day,
           COUNT(DISTINCT user_id) AS listeners,
           SUM(listen_seconds) AS seconds
    FROM amp.listen_events
    GROUP BY event_date
),
acts AS (
    SELECT event_date AS day,
           COUNT(CASE WHEN kind = 'like' THEN 1 END) AS likes,
           COUNT(CASE WHEN kind = 'follow' THEN 1 END) AS follows,
           COUNT(CASE WHEN kind = 'notify_enable' THEN 1 END) AS notify_enables,
           COUNT(CASE WHEN kind = 'chat' THEN 1 END) AS chats,
           COUNT(CASE WHEN kind = 'call_in' THEN 1 END) AS call_ins,
           COUNT(DISTINCT CASE WHEN kind IN ('like', 'follow', 'notify_enable') THEN user_id END)
               AS engaged_users
    FROM amp.interactions
    GROUP BY event_date
)
SELECT
    a.day,
    a.dau,
    COALESCE(l.listeners, 0) AS listeners,
    CAST(COALESCE(l.seconds, 0) AS DOUBLE) / 3600 AS listen_hours,
    CAST(l.seconds AS DOUBLE) / 60 / NULLIF(l.listeners, 0) AS avg_listen_minutes,
    COALESCE(i.likes, 0) AS likes,
    COALESCE(i.follows, 0) AS follows,
    COALESCE(i.notify_enables, 0) AS notify_enables,
    COALESCE(i.chats, 0) AS chats,
    COALESCE(i.call_ins, 0) AS call_ins,
    COALESCE(i.engaged_users, 0) AS engaged_users,
    CAST(COALESCE(i.engaged_users, 0) AS DOUBLE) / NULLIF(a.dau, 0) AS engagement_rate
FROM active AS a
LEFT JOIN listens AS l ON l.day = a.day
LEFT JOIN acts AS i ON i.day = a.day
