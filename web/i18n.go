package web

// The console speaks English and Simplified Chinese, chosen per user.
// Messages are looked up by key; a key missing in Chinese falls back to
// English, and a key missing in both shows itself, so a gap is visible and
// never an error.

// messages holds every console text by language and key.
var messages = map[string]map[string]string{
	"en": {
		"app.name":        "Huifang",
		"nav.dashboard":   "Dashboard",
		"nav.campaigns":   "Campaigns",
		"nav.queue":       "Review queue",
		"nav.scorecards":  "Providers",
		"nav.jobs":        "Jobs",
		"nav.surveys":     "Surveys",
		"nav.users":       "Users",
		"nav.auditlog":    "Audit log",
		"nav.logout":      "Log out",
		"forbidden.title": "Not allowed",
		"forbidden.body":  "Your role does not allow this page.",
		"notfound.title":  "Not found",
	},
	"zh-CN": {
		"app.name":        "回访",
		"nav.dashboard":   "总览",
		"nav.campaigns":   "回访活动",
		"nav.queue":       "审核队列",
		"nav.scorecards":  "服务商",
		"nav.jobs":        "工单",
		"nav.surveys":     "问卷",
		"nav.users":       "用户",
		"nav.auditlog":    "操作日志",
		"nav.logout":      "退出",
		"forbidden.title": "无权访问",
		"forbidden.body":  "您的角色无权打开此页面。",
		"notfound.title":  "未找到",
	},
}

// translate returns the message for key in lang.
func translate(lang, key string) string {
	if m, ok := messages[lang][key]; ok {
		return m
	}
	if m, ok := messages["en"][key]; ok {
		return m
	}
	return key
}

// addMessages adds a page's messages; each page file registers its own in
// an init function, so the catalogue grows with the pages.
func addMessages(lang string, m map[string]string) {
	if messages[lang] == nil {
		messages[lang] = map[string]string{}
	}
	for k, v := range m {
		messages[lang][k] = v
	}
}
