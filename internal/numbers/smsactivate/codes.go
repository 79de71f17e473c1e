package smsactivate

// The protocol names countries by numbers of its own and services by codes
// of two or three letters. These tables translate the countries and
// services Linkbox names (ISO 3166 alpha-2, lower-case service names) for
// the most asked ones; others are not offered upstream.
var (
	countries = map[string]string{
		"RU": "0", "UA": "1", "KZ": "2", "CN": "3", "PH": "4", "MM": "5", "ID": "6", "MY": "7",
		"VN": "10", "KG": "11", "IL": "13", "HK": "14", "PL": "15", "GB": "16", "NG": "19",
		"EG": "21", "IN": "22", "IE": "23", "KH": "24", "RS": "29", "ZA": "31", "RO": "32",
		"CO": "33", "EE": "34", "AZ": "35", "CA": "36", "MA": "37", "AR": "39", "UZ": "40",
		"DE": "43", "LT": "44", "HR": "45", "SE": "46", "NL": "48", "LV": "49", "AT": "50",
		"TH": "52", "SA": "53", "MX": "54", "ES": "56", "TR": "62", "CZ": "63", "PE": "65",
		"PK": "66", "BR": "73", "FR": "78", "BE": "82", "BG": "83", "HU": "84", "IT": "86",
		"PT": "117", "GE": "128", "GR": "129", "CL": "151", "FI": "163", "DK": "172",
		"CH": "173", "NO": "174", "AU": "175", "JP": "182", "US": "187",
	}
	services = map[string]string{
		"telegram": "tg", "whatsapp": "wa", "google": "go", "facebook": "fb", "instagram": "ig",
		"twitter": "tw", "viber": "vi", "discord": "ds", "microsoft": "mm", "amazon": "am",
		"tinder": "oi", "uber": "ub", "wechat": "wb", "tiktok": "lf", "netflix": "nf",
		"vkontakte": "vk", "yahoo": "mb", "paypal": "ts", "openai": "dr",
	}
	countryNames = invert(countries)
	serviceNames = invert(services)
)

func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// Country is the protocol's number of an ISO 3166 alpha-2 country, false
// when it has none here.
func Country(iso string) (string, bool) {
	id, ok := countries[iso]
	return id, ok
}

// CountryISO is the ISO 3166 alpha-2 code of the protocol's country id.
func CountryISO(id string) (string, bool) {
	iso, ok := countryNames[id]
	return iso, ok
}

// Service is the protocol's code of a service name ("telegram" → "tg").
func Service(name string) (string, bool) {
	code, ok := services[name]
	return code, ok
}

// ServiceName is the service name of the protocol's code ("tg" → "telegram").
func ServiceName(code string) (string, bool) {
	name, ok := serviceNames[code]
	return name, ok
}
