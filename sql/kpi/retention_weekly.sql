-- kpi.retention_weekly: weekly signup cohorts (KPI_SPEC.md "kpi.retention_weekly").
--
-- Rules:
-- * cohort_week: Monday of the ISO week of signup_at (date_trunc('week'), UTC).
-- * week_number: one row for every number 0, 1, ... up to the week that holds the last
--   listen event in the lake (all of the lake, not T), rows with 0 retained included.
--   A cohort whose week starts after that week has no rows; a lake without listen events
--   has no rows at all.
-- * cohort_size: users of the cohort (users without any event included).
-- * retained_users: cohort users with a listen event in
--   [cohort_week + week_number weeks, cohort_week + (week_number + 1) weeks): since
--   cohort_week is a Monday, that is the listen events whose own Monday is
--   cohort_week + week_number weeks. Listens before the cohort week count for nothing.
-- * retention_rate = retained_users / cohort_size.
CREATE VIEW kpi.retention_weekly AS
WITH last_week AS (
    SELECT CAST(date_trunc('week', MAX(event_time)) AS DATE) AS monday
    FROM amp.listen_events
),
cohorts AS (
    SELECT user_id, CAST(date_trunc('week', signup_at) AS DATE) AS cohort_week
    FROM amp.users
),
sizes AS (
    SELECT cohort_week, COUNT(*) AS cohort_size FROM cohorts GROUP BY cohort_week
),
grid AS (
    -- Weeks 0..(last_week - cohort_week) / 7; generate_series(0, negative or NULL) is empty.
    SELECT
        s.cohort_week,
        s.cohort_size,
        unnest(generate_series(
            CAST(0 AS BIGINT),
            (CAST(CAST(w.monday AS INT) AS BIGINT) - CAST(CAST(s.cohort_week AS INT) AS BIGINT)) / 7
        )) AS week_number
    FROM sizes AS s
    CROSS JOIN last_week AS w
),
listen_weeks AS (
    SELECT DISTINCT user_id, CAST(date_trunc('week', event_time) AS DATE) AS monday
    FROM amp.listen_events
),
retained AS (
    SELECT
        c.cohort_week,
        (CAST(CAST(l.monday AS INT) AS BIGINT) - CAST(CAST(c.cohort_week AS INT) AS BIGINT)) / 7
            AS week_number,
        COUNT(DISTINCT c.user_id) AS retained_users
    FROM cohorts AS c
    JOIN listen_weeks AS l ON l.user_id = c.user_id AND l.monday >= c.cohort_week
    GROUP BY 1, 2
)
SELECT
    g.cohort_week,
    CAST(g.week_number AS BIGINT) AS week_number,
    g.cohort_size,
    COALESCE(r.retained_users, 0) AS retained_users,
    CAST(COALESCE(r.retained_users, 0) AS DOUBLE) / g.cohort_size AS retention_rate
FROM grid AS g
LEFT JOIN retained AS r ON r.cohort_week = g.cohort_week AND r.week_number = g.week_number
