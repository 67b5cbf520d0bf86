package sample

import "github.com/huifang/huifang/workorders"

// Model is one product model the sample brands sell, with its bill of
// materials (BOM) and the standard times the claim checks compare against.
type Model struct {
	Code     string
	Category string // water_heater, range_hood, air_conditioner, gas_stove, dishwasher
	Brand    string
	NameEN   string
	NameZH   string
	// BOM lists the parts a repair of this model may claim. Unit costs are in
	// the minor unit of Currency.
	BOM            []BOMPart
	WarrantyMonths int
	// StandardLabourMinutes is the standard time of a repair visit (V12).
	StandardLabourMinutes int

	// Market is the country the model is sold in ("CN" or "US"); Currency is
	// the currency of its BOM costs (CNY or USD).
	Market   string
	Currency string
	// InstallLabourMinutes is the standard time of an installation.
	InstallLabourMinutes int
	// InstallKit is the code of the BOM part an installation may claim (pipes,
	// brackets), or "" when installs claim no parts.
	InstallKit string
}

// BOMPart is one line of a model's bill of materials, named the way a
// customer would recognise it on the phone.
type BOMPart struct {
	Code     string
	NameEN   string
	NameZH   string
	UnitCost workorders.Money
	MaxQty   int
}

// fault is a reported problem and the BOM parts (by index) a repair of it
// replaces, most likely first.
type fault struct {
	en, zh string
	parts  []int
}

// model is the catalog's own record: the exported Model plus what the
// generator needs (faults, serial prefix, how often it sells).
type model struct {
	Model
	serialPrefix string // five characters at the start of every serial number
	faults       []fault
	weight       float64 // relative share of jobs in its market
	kit          int     // index of InstallKit in BOM, -1 when none
	byCost       []int   // BOM indices (install kit excluded) from dearest to cheapest
}

// yuan and usd write catalog prices in whole units.
func yuan(n int) workorders.Money { return workorders.Money(n * 100) }
func usd(n int) workorders.Money  { return workorders.Money(n * 100) }

// catalog is built once; Catalog hands out copies.
var catalog = buildCatalog()

func buildCatalog() []model {
	ms := []model{
		// ——— China ———
		{
			Model: Model{
				Code: "QF-EW60A", Category: "water_heater", Brand: "Qinfeng",
				NameEN: "60 L electric water heater", NameZH: "60升电热水器",
				WarrantyMonths: 36, StandardLabourMinutes: 60, InstallLabourMinutes: 90,
				Market: "CN", Currency: "CNY", InstallKit: "QF-KIT-EW",
				BOM: []BOMPart{
					{"QF-HE2000", "heating element", "加热管", yuan(120), 2},
					{"QF-TS75", "thermostat", "温控器", yuan(45), 1},
					{"QF-MG16", "magnesium anode rod", "镁棒", yuan(35), 1},
					{"QF-CB-EW60", "control board", "主板", yuan(180), 1},
					{"QF-SV08", "safety valve", "安全阀", yuan(30), 1},
					{"QF-KIT-EW", "mounting kit", "安装支架套件", yuan(40), 1},
				},
			},
			serialPrefix: "QE60A", weight: 1.2,
			faults: []fault{
				{"Does not heat", "不加热", []int{0, 1}},
				{"Trips the breaker", "一开就跳闸", []int{0}},
				{"Leaks at the valve", "安全阀漏水", []int{4}},
				{"Display dead", "显示屏不亮", []int{3}},
				{"Water smells", "热水有异味", []int{2}},
			},
		},
		{
			Model: Model{
				Code: "QF-GW16", Category: "water_heater", Brand: "Qinfeng",
				NameEN: "16 L gas water heater", NameZH: "16升燃气热水器",
				WarrantyMonths: 36, StandardLabourMinutes: 60, InstallLabourMinutes: 120,
				Market: "CN", Currency: "CNY", InstallKit: "QF-KIT-GW",
				BOM: []BOMPart{
					{"QF-IG16", "igniter", "点火针", yuan(25), 2},
					{"QF-FS16", "flow sensor", "水流传感器", yuan(65), 1},
					{"QF-FM16", "fan motor", "风机电机", yuan(210), 1},
					{"QF-CB-GW16", "control board", "主板", yuan(260), 1},
					{"QF-GV16", "gas valve", "燃气比例阀", yuan(180), 1},
					{"QF-HX16", "heat exchanger", "热交换器", yuan(480), 1},
					{"QF-KIT-GW", "flue pipe kit", "排烟管套件", yuan(60), 1},
				},
			},
			serialPrefix: "QG16B", weight: 1.0,
			faults: []fault{
				{"Will not ignite", "打不着火", []int{0, 3}},
				{"Water not hot", "出水不热", []int{4, 1}},
				{"Fan noisy", "风机噪音大", []int{2}},
				{"Leaks water", "机器漏水", []int{5}},
				{"Shows error E1", "显示E1故障", []int{1, 3}},
			},
		},
		{
			Model: Model{
				Code: "QF-RH900", Category: "range_hood", Brand: "Qinfeng",
				NameEN: "90 cm side-draft range hood", NameZH: "侧吸式油烟机",
				WarrantyMonths: 36, StandardLabourMinutes: 45, InstallLabourMinutes: 90,
				Market: "CN", Currency: "CNY", InstallKit: "QF-KIT-RH",
				BOM: []BOMPart{
					{"QF-FM-RH900", "fan motor", "风机电机", yuan(320), 1},
					{"QF-CB-RH900", "control board", "主板", yuan(150), 1},
					{"QF-CP-RH", "capacitor", "电容", yuan(18), 1},
					{"QF-FL-RH900", "filter", "滤网", yuan(40), 2},
					{"QF-LED-RH", "light", "照明灯", yuan(20), 2},
					{"QF-OC-RH", "oil cup", "油杯", yuan(15), 1},
					{"QF-KIT-RH", "duct kit", "烟管套件", yuan(50), 1},
				},
			},
			serialPrefix: "QH90C", weight: 1.3,
			faults: []fault{
				{"Weak suction", "吸力变小", []int{0, 2}},
				{"Will not start", "开机不启动", []int{1, 2}},
				{"Loud noise", "噪音大", []int{0}},
				{"Light out", "照明灯不亮", []int{4}},
				{"Drips oil", "漏油", []int{5, 3}},
			},
		},
		{
			Model: Model{
				Code: "QF-RH750", Category: "range_hood", Brand: "Qinfeng",
				NameEN: "75 cm slim range hood", NameZH: "薄型油烟机",
				WarrantyMonths: 36, StandardLabourMinutes: 40, InstallLabourMinutes: 80,
				Market: "CN", Currency: "CNY", InstallKit: "",
				BOM: []BOMPart{
					{"QF-FM-RH750", "fan motor", "风机电机", yuan(260), 1},
					{"QF-CB-RH750", "control board", "主板", yuan(120), 1},
					{"QF-CP-RH", "capacitor", "电容", yuan(18), 1},
					{"QF-FL-RH750", "filter", "滤网", yuan(35), 2},
					{"QF-LED-RH", "light", "照明灯", yuan(20), 2},
				},
			},
			serialPrefix: "QH75D", weight: 0.8,
			faults: []fault{
				{"Weak suction", "吸力变小", []int{0, 2}},
				{"Will not start", "开机不启动", []int{1, 2}},
				{"Light out", "照明灯不亮", []int{4}},
				{"Grease on the filter", "滤网积油", []int{3}},
			},
		},
		{
			Model: Model{
				Code: "QF-GS22", Category: "gas_stove", Brand: "Qinfeng",
				NameEN: "built-in gas hob", NameZH: "嵌入式燃气灶",
				WarrantyMonths: 24, StandardLabourMinutes: 40, InstallLabourMinutes: 45,
				Market: "CN", Currency: "CNY", InstallKit: "",
				BOM: []BOMPart{
					{"QF-IG-GS", "igniter", "点火针", yuan(15), 2},
					{"QF-TC-GS", "flame safety sensor", "熄火保护针", yuan(25), 2},
					{"QF-PI-GS", "pulse igniter box", "脉冲点火器", yuan(45), 1},
					{"QF-BC-GS", "burner cap", "火盖", yuan(60), 2},
					{"QF-GV-GS", "gas valve", "旋塞阀", yuan(90), 2},
				},
			},
			serialPrefix: "QS22E", weight: 1.0,
			faults: []fault{
				{"Will not ignite", "打不着火", []int{0, 2}},
				{"Flame goes out when the knob is released", "松手就熄火", []int{1}},
				{"Yellow flame", "火焰发黄", []int{3}},
				{"Smell of gas at the knob", "旋钮处有燃气味", []int{4}},
			},
		},
		{
			Model: Model{
				Code: "NW-KFR35", Category: "air_conditioner", Brand: "Northwind",
				NameEN: "1.5 HP split air conditioner", NameZH: "1.5匹挂式空调",
				WarrantyMonths: 72, StandardLabourMinutes: 75, InstallLabourMinutes: 120,
				Market: "CN", Currency: "CNY", InstallKit: "NW-KIT35",
				BOM: []BOMPart{
					{"NW-CM35", "compressor", "压缩机", yuan(950), 1},
					{"NW-CP35", "capacitor", "电容", yuan(35), 2},
					{"NW-FM35", "fan motor", "风机电机", yuan(260), 1},
					{"NW-CB35", "control board", "主板", yuan(380), 1},
					{"NW-TS35", "temperature sensor", "温度传感器", yuan(30), 2},
					{"NW-FL35", "filter", "滤网", yuan(25), 2},
					{"NW-RF35", "refrigerant refill", "冷媒", yuan(120), 1},
					{"NW-KIT35", "copper pipe kit", "铜管套件", yuan(180), 1},
				},
			},
			serialPrefix: "NK35F", weight: 1.6,
			faults: []fault{
				{"Not cooling", "不制冷", []int{6, 1, 0}},
				{"Outdoor unit will not run", "外机不转", []int{1, 3}},
				{"Shows error E5", "显示E5故障", []int{4, 3}},
				{"Indoor fan noisy", "内机噪音大", []int{2}},
				{"Weak airflow", "出风量小", []int{5, 2}},
			},
		},
		{
			Model: Model{
				Code: "NW-KFR72", Category: "air_conditioner", Brand: "Northwind",
				NameEN: "3 HP floor-standing air conditioner", NameZH: "3匹立式空调",
				WarrantyMonths: 72, StandardLabourMinutes: 90, InstallLabourMinutes: 150,
				Market: "CN", Currency: "CNY", InstallKit: "NW-KIT72",
				BOM: []BOMPart{
					{"NW-CM72", "compressor", "压缩机", yuan(1680), 1},
					{"NW-CP72", "capacitor", "电容", yuan(45), 2},
					{"NW-FM72", "fan motor", "风机电机", yuan(420), 1},
					{"NW-CB72", "control board", "主板", yuan(560), 1},
					{"NW-TS72", "temperature sensor", "温度传感器", yuan(30), 2},
					{"NW-RF72", "refrigerant refill", "冷媒", yuan(220), 1},
					{"NW-KIT72", "copper pipe kit", "铜管套件", yuan(260), 1},
				},
			},
			serialPrefix: "NK72G", weight: 0.7,
			faults: []fault{
				{"Not cooling", "不制冷", []int{5, 1, 0}},
				{"Outdoor unit will not run", "外机不转", []int{1, 3}},
				{"Shows error E5", "显示E5故障", []int{4, 3}},
				{"Indoor fan noisy", "内机噪音大", []int{2}},
			},
		},
		{
			Model: Model{
				Code: "LM-DW13", Category: "dishwasher", Brand: "Lumora",
				NameEN: "13-place dishwasher", NameZH: "13套洗碗机",
				WarrantyMonths: 24, StandardLabourMinutes: 60, InstallLabourMinutes: 90,
				Market: "CN", Currency: "CNY", InstallKit: "LM-KIT13",
				BOM: []BOMPart{
					{"LM-DP13", "drain pump", "排水泵", yuan(150), 1},
					{"LM-CP13", "wash pump", "循环泵", yuan(380), 1},
					{"LM-HE13", "heating element", "加热管", yuan(160), 1},
					{"LM-CB13", "control board", "主板", yuan(420), 1},
					{"LM-IV13", "water inlet valve", "进水阀", yuan(70), 1},
					{"LM-DS13", "door seal", "门封条", yuan(60), 1},
					{"LM-FL13", "filter", "滤网", yuan(45), 1},
					{"LM-KIT13", "hose kit", "进排水管套件", yuan(50), 1},
				},
			},
			serialPrefix: "LD13H", weight: 0.6,
			faults: []fault{
				{"Will not drain", "不排水", []int{0, 6}},
				{"Dishes not clean", "洗不干净", []int{1, 6}},
				{"Water not heated", "不加热", []int{2}},
				{"Leaks at the door", "门边漏水", []int{5}},
				{"No water comes in", "不进水", []int{4, 3}},
			},
		},

		// ——— United States ———
		{
			Model: Model{
				Code: "NW-TE50", Category: "water_heater", Brand: "Northwind",
				NameEN: "50-gallon electric water heater", NameZH: "50加仑电热水器",
				WarrantyMonths: 72, StandardLabourMinutes: 60, InstallLabourMinutes: 150,
				Market: "US", Currency: "USD", InstallKit: "NW-KIT-TE",
				BOM: []BOMPart{
					{"NW-HE4500", "heating element", "加热管", usd(38), 2},
					{"NW-TS-TE", "thermostat", "温控器", usd(32), 2},
					{"NW-AR-TE", "anode rod", "镁棒", usd(45), 1},
					{"NW-TP-TE", "relief valve", "安全阀", usd(28), 1},
					{"NW-DV-TE", "drain valve", "排水阀", usd(18), 1},
					{"NW-KIT-TE", "connector kit", "连接管套件", usd(35), 1},
				},
			},
			serialPrefix: "NT50J", weight: 1.2,
			faults: []fault{
				{"No hot water", "没有热水", []int{0, 1}},
				{"Water not hot enough", "水温不够", []int{1, 0}},
				{"Leaking relief valve", "安全阀漏水", []int{3}},
				{"Leaking drain valve", "排水阀漏水", []int{4}},
				{"Smelly hot water", "热水有异味", []int{2}},
			},
		},
		{
			Model: Model{
				Code: "NW-TG40", Category: "water_heater", Brand: "Northwind",
				NameEN: "40-gallon gas water heater", NameZH: "40加仑燃气热水器",
				WarrantyMonths: 72, StandardLabourMinutes: 70, InstallLabourMinutes: 180,
				Market: "US", Currency: "USD", InstallKit: "",
				BOM: []BOMPart{
					{"NW-TC-TG", "thermocouple", "热电偶", usd(22), 1},
					{"NW-GV-TG", "gas control valve", "燃气阀", usd(180), 1},
					{"NW-IG-TG", "igniter", "点火器", usd(25), 1},
					{"NW-BA-TG", "burner assembly", "燃烧器", usd(95), 1},
					{"NW-TP-TG", "relief valve", "安全阀", usd(28), 1},
				},
			},
			serialPrefix: "NT40K", weight: 0.9,
			faults: []fault{
				{"Pilot will not stay lit", "长明火不能保持", []int{0, 1}},
				{"Will not ignite", "打不着火", []int{2, 1}},
				{"Water not hot enough", "水温不够", []int{3, 1}},
				{"Leaking relief valve", "安全阀漏水", []int{4}},
			},
		},
		{
			Model: Model{
				Code: "QF-RH30", Category: "range_hood", Brand: "Qinfeng",
				NameEN: "30-inch under-cabinet range hood", NameZH: "30英寸油烟机",
				WarrantyMonths: 24, StandardLabourMinutes: 45, InstallLabourMinutes: 90,
				Market: "US", Currency: "USD", InstallKit: "",
				BOM: []BOMPart{
					{"QF-BM-RH30", "fan motor", "风机电机", usd(140), 1},
					{"QF-CB-RH30", "control board", "主板", usd(95), 1},
					{"QF-CP-RH30", "capacitor", "电容", usd(15), 1},
					{"QF-GF-RH30", "grease filter", "滤网", usd(30), 2},
					{"QF-LT-RH30", "light", "照明灯", usd(18), 2},
				},
			},
			serialPrefix: "QH30L", weight: 0.8,
			faults: []fault{
				{"Weak suction", "吸力变小", []int{0, 2}},
				{"Buttons do nothing", "按键无反应", []int{1}},
				{"Loud rattling", "噪音大", []int{0}},
				{"Light out", "照明灯不亮", []int{4}},
			},
		},
		{
			Model: Model{
				Code: "NW-MS12", Category: "air_conditioner", Brand: "Northwind",
				NameEN: "12,000 BTU ductless mini-split", NameZH: "12000BTU分体空调",
				WarrantyMonths: 60, StandardLabourMinutes: 90, InstallLabourMinutes: 240,
				Market: "US", Currency: "USD", InstallKit: "NW-KIT-MS",
				BOM: []BOMPart{
					{"NW-CM-MS12", "compressor", "压缩机", usd(420), 1},
					{"NW-CP-MS12", "capacitor", "电容", usd(28), 1},
					{"NW-FM-MS12", "fan motor", "风机电机", usd(160), 1},
					{"NW-CB-MS12", "control board", "主板", usd(190), 1},
					{"NW-TS-MS12", "temperature sensor", "温度传感器", usd(22), 2},
					{"NW-FL-MS12", "filter", "滤网", usd(20), 2},
					{"NW-RF-MS12", "refrigerant recharge", "冷媒", usd(95), 1},
					{"NW-KIT-MS", "line set", "铜管套件", usd(120), 1},
				},
			},
			serialPrefix: "NM12M", weight: 1.1,
			faults: []fault{
				{"Not cooling", "不制冷", []int{6, 1, 0}},
				{"Outdoor unit will not start", "外机不转", []int{1, 3}},
				{"Blinking error light", "故障灯闪烁", []int{4, 3}},
				{"Indoor fan noisy", "内机噪音大", []int{2}},
				{"Weak airflow", "出风量小", []int{5}},
			},
		},
		{
			Model: Model{
				Code: "LM-DW24", Category: "dishwasher", Brand: "Lumora",
				NameEN: "24-inch dishwasher", NameZH: "24英寸洗碗机",
				WarrantyMonths: 24, StandardLabourMinutes: 60, InstallLabourMinutes: 120,
				Market: "US", Currency: "USD", InstallKit: "LM-KIT24",
				BOM: []BOMPart{
					{"LM-DP24", "drain pump", "排水泵", usd(85), 1},
					{"LM-CP24", "wash pump", "循环泵", usd(160), 1},
					{"LM-HE24", "heating element", "加热管", usd(70), 1},
					{"LM-CB24", "control board", "主板", usd(210), 1},
					{"LM-IV24", "water inlet valve", "进水阀", usd(45), 1},
					{"LM-DG24", "door gasket", "门封条", usd(35), 1},
					{"LM-FL24", "filter", "滤网", usd(25), 1},
					{"LM-KIT24", "install kit", "安装套件", usd(30), 1},
				},
			},
			serialPrefix: "LD24N", weight: 1.0,
			faults: []fault{
				{"Will not drain", "不排水", []int{0, 6}},
				{"Dishes not clean", "洗不干净", []int{1, 6}},
				{"Dishes stay wet", "烘干不好", []int{2}},
				{"Leaks at the door", "门边漏水", []int{5}},
				{"No water comes in", "不进水", []int{4, 3}},
			},
		},
	}
	for i := range ms {
		m := &ms[i]
		m.kit = -1
		for j, p := range m.BOM {
			if p.Code == m.InstallKit {
				m.kit = j
				continue
			}
			m.byCost = append(m.byCost, j)
		}
		// Insertion sort, dearest first; ties keep BOM order so the result
		// never depends on the sort algorithm.
		for a := 1; a < len(m.byCost); a++ {
			for b := a; b > 0 && m.BOM[m.byCost[b]].UnitCost > m.BOM[m.byCost[b-1]].UnitCost; b-- {
				m.byCost[b], m.byCost[b-1] = m.byCost[b-1], m.byCost[b]
			}
		}
	}
	return ms
}

// Catalog returns the sample models: water heaters, range hoods, air
// conditioners, a gas hob and dishwashers sold in China (costs in CNY) and in
// the United States (costs in USD). A part code names one part wherever it
// appears (the two Chinese range hoods share a capacitor and a light). The
// result is a fresh copy the caller may change.
func Catalog() []Model {
	out := make([]Model, len(catalog))
	for i, m := range catalog {
		out[i] = m.Model
		out[i].BOM = append([]BOMPart(nil), m.BOM...)
	}
	return out
}
