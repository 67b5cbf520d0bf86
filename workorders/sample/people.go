package sample

import "time"

// district is a city district (区) and a few of its real streets.
type district struct {
	name    string
	streets []string
}

// share is a provider's share of the jobs in a city.
type share struct {
	provider int // index into providers
	weight   float64
}

// city is where customers live. Chinese cities carry districts; American ones
// carry area codes and a ZIP range.
type city struct {
	country  string // "CN" or "US"
	region   string // ISO 3166-2
	zone     string // IANA
	province string // 广东省; "" for the municipalities (北京市, 上海市)
	name     string // 深圳市, Los Angeles
	state    string // CA
	weight   float64

	districts []district
	areaCodes []string
	zipLow    int
	zipSpan   int

	shares []share

	loc *time.Location // loaded once, see loadZones
}

func serves(pairs ...any) []share {
	var out []share
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, share{providerIndex(pairs[i].(string)), pairs[i+1].(float64)})
	}
	return out
}

// cities are the sample service areas. Weights are relative within a country.
// P-OVR works in Guangdong, Zhejiang and Sichuan beside another provider, so
// its product mix is its peers'.
var cities = []city{
	{country: "CN", region: "CN-GD", zone: "Asia/Shanghai", province: "广东省", name: "深圳市", weight: 3,
		shares: serves("P-SZA", 0.6, OverReplacer, 0.4),
		districts: []district{
			{"南山区", []string{"科苑路", "南海大道", "桃园路", "沙河西路"}},
			{"福田区", []string{"深南中路", "福华路", "益田路", "彩田路"}},
			{"宝安区", []string{"宝安大道", "创业一路", "新安六路"}},
			{"龙岗区", []string{"龙岗大道", "布吉路"}},
		}},
	{country: "CN", region: "CN-GD", zone: "Asia/Shanghai", province: "广东省", name: "广州市", weight: 3,
		shares: serves("P-SZA", 0.6, OverReplacer, 0.4),
		districts: []district{
			{"天河区", []string{"天河路", "体育西路", "黄埔大道西", "林和西路"}},
			{"越秀区", []string{"中山五路", "环市东路", "东风中路"}},
			{"海珠区", []string{"江南大道中", "新港西路", "工业大道"}},
			{"番禺区", []string{"迎宾路", "市桥街"}},
		}},
	{country: "CN", region: "CN-GD", zone: "Asia/Shanghai", province: "广东省", name: "东莞市", weight: 1,
		shares: serves("P-SZA", 0.6, OverReplacer, 0.4),
		districts: []district{
			{"南城街道", []string{"鸿福路", "元美路"}},
			{"东城街道", []string{"东城中路", "光明路"}},
		}},
	{country: "CN", region: "CN-BJ", zone: "Asia/Shanghai", name: "北京市", weight: 4,
		shares: serves("P-BJH", 1.0),
		districts: []district{
			{"朝阳区", []string{"建国路", "朝阳北路", "望京西路", "东三环中路"}},
			{"海淀区", []string{"中关村大街", "学院路", "知春路", "万泉河路"}},
			{"丰台区", []string{"丰台北路", "南三环西路"}},
			{"西城区", []string{"西直门南大街", "月坛北街"}},
		}},
	{country: "CN", region: "CN-SH", zone: "Asia/Shanghai", name: "上海市", weight: 4,
		shares: serves("P-SHJ", 1.0),
		districts: []district{
			{"浦东新区", []string{"张杨路", "世纪大道", "锦绣路", "东方路"}},
			{"徐汇区", []string{"漕溪北路", "肇嘉浜路", "田林路"}},
			{"闵行区", []string{"沪闵路", "莘松路", "七莘路"}},
			{"杨浦区", []string{"四平路", "国定路"}},
		}},
	{country: "CN", region: "CN-ZJ", zone: "Asia/Shanghai", province: "浙江省", name: "杭州市", weight: 2,
		shares: serves("P-SHJ", 0.7, OverReplacer, 0.3),
		districts: []district{
			{"西湖区", []string{"文三路", "天目山路", "古墩路"}},
			{"余杭区", []string{"文一西路", "五常大道"}},
			{"拱墅区", []string{"莫干山路", "湖墅南路"}},
		}},
	{country: "CN", region: "CN-ZJ", zone: "Asia/Shanghai", province: "浙江省", name: "宁波市", weight: 1,
		shares: serves("P-SHJ", 0.7, OverReplacer, 0.3),
		districts: []district{
			{"鄞州区", []string{"天童南路", "四明中路"}},
			{"海曙区", []string{"中山西路", "望春路"}},
		}},
	{country: "CN", region: "CN-JS", zone: "Asia/Shanghai", province: "江苏省", name: "南京市", weight: 1.5,
		shares: serves("P-SHJ", 1.0),
		districts: []district{
			{"鼓楼区", []string{"中山北路", "湖南路"}},
			{"江宁区", []string{"双龙大道", "天元中路"}},
		}},
	{country: "CN", region: "CN-JS", zone: "Asia/Shanghai", province: "江苏省", name: "苏州市", weight: 1.5,
		shares: serves("P-SHJ", 1.0),
		districts: []district{
			{"姑苏区", []string{"人民路", "干将西路"}},
			{"吴中区", []string{"东吴北路", "宝带西路"}},
		}},
	{country: "CN", region: "CN-SC", zone: "Asia/Shanghai", province: "四川省", name: "成都市", weight: 2.5,
		shares: serves("P-CDT", 0.6, OverReplacer, 0.4),
		districts: []district{
			{"武侯区", []string{"人民南路四段", "武侯祠大街", "科华北路"}},
			{"锦江区", []string{"春熙路", "东大街"}},
			{"成华区", []string{"建设路", "二环路东二段"}},
			{"双流区", []string{"航空路", "棠湖西路"}},
		}},
	{country: "CN", region: "CN-HB", zone: "Asia/Shanghai", province: "湖北省", name: "武汉市", weight: 2,
		shares: serves("P-CDT", 1.0),
		districts: []district{
			{"武昌区", []string{"中北路", "中山路"}},
			{"洪山区", []string{"珞喻路", "雄楚大道"}},
			{"江汉区", []string{"解放大道", "建设大道"}},
		}},

	{country: "US", region: "US-CA", zone: "America/Los_Angeles", name: "Los Angeles", state: "CA", weight: 3,
		shares: serves("P-USW", 1.0), areaCodes: []string{"213", "310", "323"}, zipLow: 90001, zipSpan: 68},
	{country: "US", region: "US-CA", zone: "America/Los_Angeles", name: "San Francisco", state: "CA", weight: 1.5,
		shares: serves("P-USW", 1.0), areaCodes: []string{"415"}, zipLow: 94102, zipSpan: 33},
	{country: "US", region: "US-CA", zone: "America/Los_Angeles", name: "San Diego", state: "CA", weight: 1.5,
		shares: serves("P-USW", 1.0), areaCodes: []string{"619", "858"}, zipLow: 92101, zipSpan: 30},
	{country: "US", region: "US-CA", zone: "America/Los_Angeles", name: "San Jose", state: "CA", weight: 1,
		shares: serves("P-USW", 1.0), areaCodes: []string{"408"}, zipLow: 95110, zipSpan: 30},
	{country: "US", region: "US-NY", zone: "America/New_York", name: "New York", state: "NY", weight: 2,
		shares: serves("P-USE", 1.0), areaCodes: []string{"212", "917"}, zipLow: 10001, zipSpan: 40},
	{country: "US", region: "US-NY", zone: "America/New_York", name: "Brooklyn", state: "NY", weight: 2,
		shares: serves("P-USE", 1.0), areaCodes: []string{"718", "347"}, zipLow: 11201, zipSpan: 39},
	{country: "US", region: "US-NY", zone: "America/New_York", name: "Buffalo", state: "NY", weight: 0.7,
		shares: serves("P-USE", 1.0), areaCodes: []string{"716"}, zipLow: 14201, zipSpan: 26},
	{country: "US", region: "US-TX", zone: "America/Chicago", name: "Houston", state: "TX", weight: 2,
		shares: serves("P-UST", 1.0), areaCodes: []string{"713", "281"}, zipLow: 77002, zipSpan: 98},
	{country: "US", region: "US-TX", zone: "America/Chicago", name: "Dallas", state: "TX", weight: 1.5,
		shares: serves("P-UST", 1.0), areaCodes: []string{"214", "972"}, zipLow: 75201, zipSpan: 52},
	{country: "US", region: "US-TX", zone: "America/Chicago", name: "Austin", state: "TX", weight: 1,
		shares: serves("P-UST", 1.0), areaCodes: []string{"512", "737"}, zipLow: 78701, zipSpan: 59},
	{country: "US", region: "US-IL", zone: "America/Chicago", name: "Chicago", state: "IL", weight: 2.5,
		shares: serves("P-USE", 0.6, "P-UST", 0.4), areaCodes: []string{"312", "773"}, zipLow: 60601, zipSpan: 61},
	{country: "US", region: "US-AZ", zone: "America/Phoenix", name: "Phoenix", state: "AZ", weight: 1.5,
		shares: serves("P-USW", 0.5, "P-UST", 0.5), areaCodes: []string{"602", "480"}, zipLow: 85003, zipSpan: 52},
}

// Surnames in rough order of frequency; pickSkewed favours the front.
var cnSurnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
	"何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
	"肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
	"任", "卢", "姚", "沈", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
	"夏", "付", "方", "邹", "熊", "白", "孟", "秦", "邱", "侯", "江", "尹", "薛", "段", "雷", "龙",
	"黎", "史", "陶", "贺", "毛", "郝", "顾", "龚", "邵", "万", "欧阳", "诸葛",
}

var cnGiven = []string{
	"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
	"明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "建国", "志强", "晨", "浩", "宇",
	"欣怡", "子涵", "梓萱", "一诺", "俊杰", "雨涵", "思远", "婷", "海燕", "凤英", "玉兰", "建军", "丹", "萍",
	"鹏", "辉", "斌", "波", "宁", "亮", "飞", "倩", "颖", "晶", "琳", "雪", "慧", "彬", "国庆", "淑珍",
	"丽华", "春梅", "晓东", "小红", "佳怡", "浩然", "子轩", "雅婷", "志明", "美玲", "文博", "家豪",
}

var cnCommunityHead = []string{
	"锦绣", "阳光", "翠湖", "金色", "碧水", "和谐", "幸福", "世纪", "海悦", "天悦", "枫林", "东方",
	"滨江", "御景", "康乐", "紫薇", "春华", "怡景", "书香", "龙湖",
}

var cnCommunityTail = []string{"花园", "家园", "小区", "华庭", "雅苑", "公寓", "新村", "名苑", "嘉园", "山庄"}

var usFirst = []string{
	"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
	"William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Christopher",
	"Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven",
	"Ashley", "Andrew", "Kimberly", "Paul", "Emily", "Joshua", "Donna", "Kevin", "Michelle", "Brian",
	"Amanda", "Maria", "Jose", "Carlos", "Rosa", "Wei", "Mei", "Priya", "Raj", "Aisha", "Tyrone",
	"Keisha", "Hiroshi", "Linh", "Olivia", "Ethan", "Sophia", "Noah", "Emma", "Liam", "Ava",
}

var usLast = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
	"Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
	"Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
	"Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
	"Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
	"Carter", "Roberts", "Chen", "Patel", "Kim", "Wang", "Singh", "O'Brien", "Murphy", "Cohen",
}

var usStreets = []string{
	"Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lincoln", "Park", "Lake", "Hill", "Sunset",
	"Highland", "Jefferson", "Madison", "Franklin", "Church", "Spring", "Willow", "Walnut", "Chestnut",
	"Ridge", "Meadow", "River", "Forest", "Mission", "Grand", "Center", "Union", "Magnolia", "Laurel",
}

var usSuffixes = []string{"St", "Ave", "Blvd", "Dr", "Ln", "Rd", "Ct", "Way", "Pl"}

// usExchanges are the central-office codes general US numbers use: NXX
// without N11 service codes, 555 (its 01XX lines are handed out first) and
// the 950/958/959/976 special codes.
var usExchanges = func() []int {
	var out []int
	for x := 200; x <= 999; x++ {
		if x%100 == 11 || x == 555 || x == 950 || x == 958 || x == 959 || x == 976 {
			continue
		}
		out = append(out, x)
	}
	return out
}()

// cnMobileBlocks are the mobile prefixes customers' numbers use (China
// Mobile, Unicom and Telecom); technicians get 136 and 137 instead.
var cnMobileBlocks = []string{"138", "139", "150", "151", "158", "186", "188", "189", "133", "135"}
