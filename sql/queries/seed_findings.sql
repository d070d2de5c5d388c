-- The Tensorleap study's five findings about metadata and loss, each checked for each neural model on one
-- subset ($subset): "holds" when the rank correlation's 95% interval lies on the expected side of zero,
-- "reversed" when it lies on the other side, "no clear effect" when it contains zero.
with

findings as (
    select * from (values
        (1, 'The shorter the review, the higher the loss', 'length_tokens', -1),
        (2, 'The more out-of-vocabulary words, the higher the loss', 'oov_count', 1),
        (3, 'The more subjective the review (TextBlob), the lower the loss', 'subjectivity', -1),
        (4, 'The more confident the score, the lower the loss', 'confidence', -1),
        (5, 'Reviews of neutral TextBlob polarity have higher loss', 'polarity_strength', -1)
    ) as f (finding, statement, feature, expected_sign)
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
        end as verdict
    from findings
    join correlations using (feature)
)

select * from final
order by finding, model desc
