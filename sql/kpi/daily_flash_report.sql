-- kpi.daily_flash_report: the daily flash report in long format, one row per
-- (day, metric) (KPI_SPEC.md "kpi.daily_flash_report").
--
-- Rules:
-- * Days: every date from the first to the last day of kpi.engagement_daily, gaps
--   filled (a day without listen events or interactions gets 0 for the metrics that come
--   from kpi.engagement_daily). No rows at all when kpi.engagement_daily is empty.
-- * Metrics, exactly these strings: dau, listeners, listen_hours, likes, follows,
--   notify_enables (from kpi.engagement_daily, 0 on a gap day), new_users (users whose
--   signup_at falls on the day), shows_aired (shows whose scheduled_start falls on the day).
--   Signups and shows on days outside the covered days are not reported.
-- * value DOUBLE; prev_day = value on the day before and last_week = value 7 days before,
--   NULL when that day is outside the covered days. Every covered day has a row, so the
--   day before is the previous row of the metric and 7 days before is 7 rows back.
-- * dod_pct = (value - prev_day) / prev_day * 100 and wow_pct = (value - last_week) /
--   last_week * 100: NULL when the denominator is 0 or NULL.
CREATE VIEW kpi.daily_flash_report AS
WITH bounds AS (
    SELECT MIN(day) AS first_day, MAX(day) AS last_day FROM kpi.engagement_daily
),
days AS (
    -- NULL bounds (no covered day) give an empty list, hence no day.
    SELECT unnest(generate_series(first_day, last_day, INTERVAL '1 day')) AS day FROM bounds
),
daily AS (
    SELECT
        d.day,
        CAST(COALESCE(e.dau, 0) AS DOUBLE) AS dau,
        CAST(COALESCE(e.listeners, 0) AS DOUBLE) AS listeners,
        CAST(COALESCE(e.listen_hours, 0) AS DOUBLE) AS listen_hours,
        CAST(COALESCE(e.likes, 0) AS DOUBLE) AS likes,
        CAST(COALESCE(e.follows, 0) AS DOUBLE) AS follows,
        CAST(COALESCE(e.notify_enables, 0) AS DOUBLE) AS notify_enables,
        CAST(COALESCE(u.new_users, 0) AS DOUBLE) AS new_users,
        CAST(COALESCE(s.shows_aired, 0) AS DOUBLE) AS shows_aired
    FROM days AS d
    LEFT JOIN kpi.engagement_daily AS e ON e.day = d.day
    LEFT JOIN (
        SELECT CAST(signup_at AS DATE) AS day, COUNT(*) AS new_users
        FROM amp.users GROUP BY CAST(signup_at AS DATE)
    ) AS u ON u.day = d.day
    LEFT JOIN (
        SELECT CAST(scheduled_start AS DATE) AS day, COUNT(*) AS shows_aired
        FROM amp.shows GROUP BY CAST(scheduled_start AS DATE)
    ) AS s ON s.day = d.day
),
metrics AS (
    SELECT day, 'dau' AS metric, dau AS value FROM daily
    UNION ALL SELECT day, 'listeners', listeners FROM daily
    UNION ALL SELECT day, 'listen_hours', listen_hours FROM daily
    UNION ALL SELECT day, 'likes', likes FROM daily
    UNION ALL SELECT day, 'follows', follows FROM daily
    UNION ALL SELECT day, 'notify_enables', notify_enables FROM daily
    UNION ALL SELECT day, 'new_users', new_users FROM daily
    UNION ALL SELECT day, 'shows_aired', shows_aired FROM daily
),
compared AS (
    SELECT
        day,
        metric,
        value,
        lag(value, 1) OVER (PARTITION BY metric ORDER BY day) AS prev_day,
        lag(value, 7) OVER (PARTITION BY metric ORDER BY day) AS last_week
    FROM metrics
)
SELECT
    day AS report_date,
    metric,
    value,
    prev_day,
    (value - prev_day) / NULLIF(prev_day, 0) * 100 AS dod_pct,
    last_week,
    (value - last_week) / NULLIF(last_week, 0) * 100 AS wow_pct
FROM compared
