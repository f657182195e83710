-- kpi.promotion_effectiveness: one row per promotion in amp.promotions
-- (KPI_SPEC.md "kpi.promotion_effectiveness").
--
-- Rules:
-- * impressions, clicks: promotion_events rows of that action; a promotion without
--   events has 0 and 0. Events of promotion_ids missing from amp.promotions make no row.
-- * ctr = clicks / impressions, NULL when there is no impression.
-- * exposed_users: distinct users with an impression (a click alone does not expose).
-- * converted_users: exposed users with any listen event (a 0-second start counts) for
--   target_show_id whose event_time lies in [first impression of that user for that
--   promotion, the same + 7 days], BOTH ends included. Later impressions do not move the
--   window. Events count whether or not they fall inside the promotion's start_at/end_at.
-- * conversion_rate = converted_users / exposed_users, NULL when nobody was exposed.
CREATE VIEW kpi.promotion_effectiveness AS
WITH counts AS (
    SELECT
        promotion_id,
        COUNT(CASE WHEN action = 'impression' THEN 1 END) AS impressions,
        COUNT(CASE WHEN action = 'click' THEN 1 END) AS clicks,
        COUNT(DISTINCT CASE WHEN action = 'impression' THEN user_id END) AS exposed_users
    FROM amp.promotion_events
    GROUP BY promotion_id
),
first_impression AS (
    SELECT promotion_id, user_id, MIN(event_time) AS first_at
    FROM amp.promotion_events
    WHERE action = 'impression'
    GROUP BY promotion_id, user_id
),
converted AS (
    SELECT f.promotion_id, COUNT(DISTINCT f.user_id) AS converted_users
    FROM first_impression AS f
    JOIN amp.promotions AS p ON p.promotion_id = f.promotion_id
    JOIN amp.listen_events AS l
      ON l.user_id = f.user_id
     AND l.show_id = p.target_show_id
     AND l.event_time >= f.first_at
     AND l.event_time <= f.first_at + INTERVAL '7 days'
    GROUP BY f.promotion_id
)
SELECT
    p.promotion_id,
    p.name,
    p.channel,
    p.target_show_id,
    COALESCE(n.impressions, 0) AS impressions,
    COALESCE(n.clicks, 0) AS clicks,
    CAST(COALESCE(n.clicks, 0) AS DOUBLE) / NULLIF(n.impressions, 0) AS ctr,
    COALESCE(n.exposed_users, 0) AS exposed_users,
    COALESCE(c.converted_users, 0) AS converted_users,
    CAST(COALESCE(c.converted_users, 0) AS DOUBLE) / NULLIF(n.exposed_users, 0)
        AS conversion_rate
FROM amp.promotions AS p
LEFT JOIN counts AS n ON n.promotion_id = p.promotion_id
LEFT JOIN converted AS c ON c.promotion_id = p.promotion_id
