-- The cases of one test ($test) that one model ($model) fails, the largest change in its probabilities first:
-- the text before and after, its predicted class and the probability of the case's class (or of the class it
-- predicted before) on each.
with

cases as (
    -- Without their texts: those of the cases shown are read at the end.
    select case_id, text_id, label, expect from behaviour_cases
    where test = $test
),

results as (
    select * from behaviour_results
    where model = $model and failed
),

labels as (
    select * from labels
),

joined as (
    select
        cases.*,
        results.probabilities_before as before_p,
        results.probabilities_after as after_p,
        list_position(results.probabilities_before, list_max(results.probabilities_before)) - 1 as before_index,
        list_position(results.probabilities_after, list_max(results.probabilities_after)) - 1 as after_index
    from cases
    join results using (case_id)
),

watched as (
    select
        joined.*,
        -- The class whose probability is shown: the case's own, or the one predicted before the change.
        coalesce(watched_label.label_index, joined.before_index) as watched_index
    from joined
    left join labels as watched_label on watched_label.label = joined.label
),

shown as (
    select
        watched.case_id,
        watched.text_id,
        watched_class.label as watched,
        watched.before_p[watched.watched_index + 1] as probability_before,
        watched.after_p[watched.watched_index + 1] as probability_after,
        before_class.label as predicted_before,
        after_class.label as predicted_after,
        watched.expect,
        count(*) over () as matching
    from watched
    join labels as watched_class on watched_class.label_index = watched.watched_index
    left join labels as before_class on before_class.label_index = watched.before_index
    join labels as after_class on after_class.label_index = watched.after_index
    order by abs(coalesce(probability_before, 0.5) - probability_after) desc, case_id
    limit $limit
),

final as (
    select
        shown.case_id,
        shown.text_id,
        texts.before,
        texts.after,
        shown.* exclude (case_id, text_id)
    from shown
    join behaviour_cases as texts using (case_id)
)

select * from final
order by abs(coalesce(probability_before, 0.5) - probability_after) desc, case_id
