-- The Tensorleap study's five findings about metadata and loss (IMDB only), each checked for each neural model on
-- one subset ($subset): "holds" when the rank correlation's 95% interval lies on the expected side of zero,
-- "reversed" when it lies on the other side, "no clear effect" when it contains zero.
with

findings as (
    select * from seed_findings
),

models as (
    select * from models
),

correlations as (
    select * from feature_correlations
    where subset = $subset
),

final as (
    select
        findings.finding,
        findings.statement,
        correlations.model,
        findings.feature,
        correlations.spearman,
        correlations.ci_low,
        correlations.ci_high,
        case
            when correlations.ci_low * findings.expected_sign > 0 and correlations.ci_high * findings.expected_sign > 0
                then 'holds'
            when correlations.ci_low * findings.expected_sign < 0 and correlations.ci_high * findings.expected_sign < 0
                then 'reversed'
            else 'no clear effect'
        end as verdict,
        models.rank
    from findings
    join correlations using (feature)
    join models using (model)
)

select * from final
order by finding, rank
