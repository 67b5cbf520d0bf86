package surveys

import "testing"

// BenchmarkNextStep measures the decision a webhook makes per answer: from
// the state so far to the next step, prompt filled. The run is a repair call
// in Chinese at the second claimed part, after a re-ask.
func BenchmarkNextStep(b *testing.B) {
	d := shippedScript(b, "repair-parts-verification")
	job := SampleJob(JobRepair)
	st, step := run(b, d, job, Voice, "zh-CN", keys("1"), keys("1"), silence, keys("1"), keys("1"))
	if step.Question != "which_part" || step.Part.Code != "TH-02" {
		b.Fatalf("set-up reached %s", step.Question)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Next(job, &st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply measures one whole input: parse the reply, append the
// entry, decide the next step.
func BenchmarkApply(b *testing.B) {
	d := shippedScript(b, "repair-parts-verification")
	job := SampleJob(JobRepair)
	st, _ := run(b, d, job, SMS, "zh-CN", text("是的"), text("1"), text("1"))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := d.Apply(job, st, text("不是")); err != nil {
			b.Fatal(err)
		}
	}
}
