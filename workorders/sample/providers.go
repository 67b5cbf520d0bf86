package sample

import (
	"strconv"

	"github.com/huifang/huifang/workorders"
)

// OverReplacer is the code of the provider that systematically over-replaces
// parts (P1): its repairs claim more parts, and dearer ones, than its peers',
// and its phantom-part claims (V2) are concentrated there.
const OverReplacer = "P-OVR"

type technician struct {
	name, phone string
}

type provider struct {
	workorders.Provider
	country string
	techs   []technician
}

// providers is the fixed provider directory: five service companies in China
// and three in the United States. Technicians' phones are kept out of the
// ranges customers' numbers are drawn from, so a customer shares a
// technician's number only where V13 is planted.
var providers = buildProviders()

func buildProviders() []provider {
	ps := []provider{
		{workorders.Provider{Code: "P-SZA", Name: "深圳安居家电服务有限公司"}, "CN",
			techList("李建军", "陈志强", "黄伟", "刘洋", "吴海峰")},
		{workorders.Provider{Code: OverReplacer, Name: "广州速达家电维修服务有限公司"}, "CN",
			techList("周勇", "郑涛", "林俊杰", "何军", "罗斌")},
		{workorders.Provider{Code: "P-BJH", Name: "北京恒信达家电服务有限公司"}, "CN",
			techList("王磊", "张建国", "赵鹏", "孙亮", "马超")},
		{workorders.Provider{Code: "P-SHJ", Name: "上海嘉诚家电技术服务有限公司"}, "CN",
			techList("徐斌", "朱明", "沈浩", "陆军", "顾伟")},
		{workorders.Provider{Code: "P-CDT", Name: "成都天府家电售后服务有限公司"}, "CN",
			techList("杨波", "唐勇", "邓飞", "曾辉", "谢宁")},
		{workorders.Provider{Code: "P-USW", Name: "Pacific Coast Appliance Service LLC"}, "US",
			techList("Mike Alvarez", "Kevin Tran", "Dan Whitaker", "Luis Ortega", "Sam Patel")},
		{workorders.Provider{Code: "P-USE", Name: "Empire State Home Services Inc."}, "US",
			techList("Tony Russo", "Marcus Bell", "Greg Kowalski", "Jamal Carter", "Eddie Chen")},
		{workorders.Provider{Code: "P-UST", Name: "Lone Star Appliance Repair Co."}, "US",
			techList("Cody Reynolds", "Javier Morales", "Travis Hughes", "Brandon Lee", "Ray Gutierrez")},
	}
	// Chinese technicians get numbers in the 136 and 137 blocks, which
	// customers never get; American ones get 555-01XX numbers in area codes
	// no sample customer lives in.
	usArea := map[string]string{"P-USW": "628", "P-USE": "646", "P-UST": "832"}
	for pi := range ps {
		p := &ps[pi]
		for ti := range p.techs {
			if p.country == "CN" {
				block := "136"
				if ti%2 == 1 {
					block = "137"
				}
				n := 10_000_000 + (pi*7_919+ti*104_729)*97
				p.techs[ti].phone = "+86" + block + strconv.Itoa(n)
			} else {
				p.techs[ti].phone = "+1" + usArea[p.Code] + "555" + pad4(110+ti*7)
			}
		}
	}
	return ps
}

func techList(names ...string) []technician {
	ts := make([]technician, len(names))
	for i, n := range names {
		ts[i].name = n
	}
	return ts
}

func pad4(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 4 {
		s = "0" + s
	}
	return s
}

func providerIndex(code string) int {
	for i, p := range providers {
		if p.Code == code {
			return i
		}
	}
	panic("sample: unknown provider " + code)
}

// Providers returns the fixed provider directory the generator assigns jobs
// to, Chinese companies first. The one with code OverReplacer ("P-OVR")
// over-replaces parts.
func Providers() []workorders.Provider {
	out := make([]workorders.Provider, len(providers))
	for i, p := range providers {
		out[i] = p.Provider
	}
	return out
}

// TechnicianPhones returns the phone numbers (E.164) of every sample
// technician, so a test can check V13 "customer phone equals a technician's".
func TechnicianPhones() []string {
	var out []string
	for _, p := range providers {
		for _, t := range p.techs {
			out = append(out, t.phone)
		}
	}
	return out
}
