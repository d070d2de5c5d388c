-- The behavioural test cases made from one text ($text_id): each model's predicted class before and after
-- the change, and whether it failed.
with

cases as (
    select * from behaviour_cases
    where text_id = $text_id
),

results as (
    select * from behaviour_results
),

labels as (
    select * from labels
),

models as (
    select * from models
),

tests as (
    select * from behaviour_tests
),

final as (
    select
        cases.case_id,
        cases.test,
        tests.kind,
        results.model,
        before_class.label as predicted_before,
        after_class.label as predicted_after,
        results.failed,
        cases.after,
        tests.rank as test_rank,
        models.rank as model_rank
    from cases
    join tests using (test)
    join results using (case_id)
    join models using (model)
    join labels as before_class
        on before_class.label_index
        = list_position(results.probabilities_before, list_max(results.probabilities_before)) - 1
    join labels as after_class
        on after_class.label_index
        = list_position(results.probabilities_after, list_max(results.probabilities_after)) - 1
)

select * from final
order by test_rank, case_id, model_rank
