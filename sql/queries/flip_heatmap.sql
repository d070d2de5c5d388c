-- The base model's heat map of one flipped text ($text_id, $base_model) toward one class ($label), as text_heatmap
-- gives this build's: every token, its score and its score relative to the strongest.
select
    base_model as model,
    position,
    token,
    seen,
    score,
    relative
from comparison_heatmaps
where text_id = $text_id
    and base_model = $base_model
    and label = $label
order by position
