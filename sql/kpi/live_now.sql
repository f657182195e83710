-- kpi.live_now: the shows on air at T = as_of() (KPI_SPEC.md "kpi.live_now").
--
-- Rules:
-- * One row per show with scheduled_start <= T < scheduled_end: a show starting exactly
--   at T is on air (minutes_live 0), one ending exactly at T is not.
-- * minutes_live = (T - scheduled_start) in minutes, DOUBLE, to the microsecond.
-- * listeners_now: distinct users with a listen event for the show in W(T - 5 minutes, T]
--   (an event at exactly T - 5 minutes is out, one at T is in); 0 when none.
-- * likes_live: likes with that show_id in W(scheduled_start, T]: a like at exactly
--   scheduled_start is out (so a show starting at T has 0), one at T is in, later ones out.
-- * as_of = T.
CREATE VIEW kpi.live_now AS
WITH on_air AS (
    SELECT show_id, title, creator_id, scheduled_start
    FROM amp.shows
    WHERE scheduled_start <= as_of() AND as_of() < scheduled_end
),
listeners AS (
    SELECT show_id, COUNT(DISTINCT user_id) AS listeners_now
    FROM amp.listen_events
    WHERE event_time > as_of() - INTERVAL '5 minutes' AND event_time <= as_of()
    GROUP BY show_id
),
likes AS (
    SELECT i.show_id, COUNT(*) AS likes_live
    FROM amp.interactions AS i
    JOIN on_air AS o ON o.show_id = i.show_id
    WHERE i.kind = 'like' AND i.event_time > o.scheduled_start AND i.event_time <= as_of()
    GROUP BY i.show_id
)
SELECT
    o.show_id,
    o.title,
    o.creator_id,
    o.scheduled_start,
    -- Timestamps are microseconds since the epoch: one exact subtraction, one division.
    CAST(CAST(as_of() AS BIGINT) - CAST(o.scheduled_start AS BIGINT) AS DOUBLE) / 60000000
        AS minutes_live,
    COALESCE(l.listeners_now, 0) AS listeners_now,
    COALESCE(k.likes_live, 0) AS likes_live,
    as_of() AS as_of
FROM on_air AS o
LEFT JOIN listeners AS l ON l.show_id = o.show_id
LEFT JOIN likes AS k ON k.show_id = o.show_id
