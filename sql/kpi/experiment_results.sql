-- kpi.experiment_results: recommendation experiments, measured per
-- recommendation unit, one row per (experiment_id, variant) in
-- amp.rec_impressions (KPI_SPEC.md "kpi.experiment_results").
--
-- Rules:
-- * impressions: rec_impressions rows; engaged_impressions: impressions with at least one
--   rec_engagements row with that impression_id (several engagements count once;
--   engagements of unknown impression_ids count for nothing).
-- * engagement_rate p = engaged_impressions / impressions.
-- * For a variant other than 'control' (exact, byte-wise: 'Control' is a treatment), against
--   the 'control' variant of the same experiment (n_c, p_c):
--     lift     = p / p_c - 1                                   NULL when p_c = 0
--     z        = (p - p_c) / sqrt(q (1 - q) (1/n + 1/n_c)),
--                pooled q = (engaged + engaged_c) / (n + n_c)   NULL when q = 0 or 1
--     p_value  = erfc(|z| / sqrt(2)) (two-sided; erfc keeps full precision for large |z|,
--                where 2 * (1 - Phi(|z|)) would round to 0)      NULL when z is NULL
--     ci95_low, ci95_high = (p - p_c) -/+ 1.96 * sqrt(p (1 - p) / n + p_c (1 - p_c) / n_c)
--                (n, n_c >= 1, so always computed)
-- * The control row, and every row of an experiment without a control: all five NULL.
CREATE VIEW kpi.experiment_results AS
WITH engaged AS (
    SELECT DISTINCT impression_id FROM amp.rec_engagements
),
variants AS (
    SELECT
        i.experiment_id,
        i.variant,
        COUNT(*) AS impressions,
        COUNT(e.impression_id) AS engaged_impressions
    FROM amp.rec_impressions AS i
    LEFT JOIN engaged AS e ON e.impression_id = i.impression_id
    GROUP BY i.experiment_id, i.variant
),
rates AS (
    SELECT *, CAST(engaged_impressions AS DOUBLE) / impressions AS p FROM variants
),
compared AS (
    SELECT
        r.experiment_id,
        r.variant,
        r.impressions,
        r.engaged_impressions,
        r.p,
        CAST(c.impressions AS DOUBLE) AS n_c,
        c.p AS p_c,
        CAST(r.engaged_impressions + c.engaged_impressions AS DOUBLE)
            / (r.impressions + c.impressions) AS q
    FROM rates AS r
    LEFT JOIN rates AS c
      ON c.experiment_id = r.experiment_id
     AND c.variant = 'control'
     AND r.variant <> 'control'
),
tested AS (
    SELECT
        *,
        (p - p_c) / NULLIF(sqrt(q * (1 - q) * (1 / CAST(impressions AS DOUBLE) + 1 / n_c)), 0)
            AS z,
        1.96 * sqrt(p * (1 - p) / impressions + p_c * (1 - p_c) / n_c) AS half_width
    FROM compared
)
SELECT
    experiment_id,
    variant,
    impressions,
    engaged_impressions,
    p AS engagement_rate,
    p / NULLIF(p_c, 0) - 1 AS lift,
    z,
    erfc(abs(z) / sqrt(2.0)) AS p_value,
    (p - p_c) - half_width AS ci95_low,
    (p - p_c) + half_width AS ci95_high
FROM tested
