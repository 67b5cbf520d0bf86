package workorders

import "github.com/prometheus/client_golang/prometheus"

// intakeRows counts rows by source and outcome, for dashboards and alerts
// (a source whose rejects climb has changed its export).
var intakeRows = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "huifang_intake_rows_total",
	Help: "Work-order rows taken in, by source and outcome (inserted, updated, unchanged, rejected).",
}, []string{"source", "outcome"})

func init() { prometheus.MustRegister(intakeRows) }

func countIntake(source string, res *ImportResult) {
	intakeRows.WithLabelValues(source, "inserted").Add(float64(res.Inserted))
	intakeRows.WithLabelValues(source, "updated").Add(float64(res.Updated))
	intakeRows.WithLabelValues(source, "unchanged").Add(float64(res.Unchanged))
	intakeRows.WithLabelValues(source, "rejected").Add(float64(res.Rejected))
}
