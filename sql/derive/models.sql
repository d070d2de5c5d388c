-- How many texts each model has attributions for: all of them, or a chosen set (a transformer's).
update models set attributed_texts = (select count(*) from attributions where attributions.model = models.model);
