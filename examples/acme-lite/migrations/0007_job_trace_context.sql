-- The W3C `traceparent` of the span that enqueued a job (an app built with the `otel`
-- feature, exporting traces), so that the job's span joins the request's trace; null
-- otherwise. Every build has the column, so one schema serves them all.

alter table jobs add column trace_context text;
