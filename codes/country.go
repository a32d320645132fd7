package codes

import "strings"

// foreignCountries are the countries and territories outside the United Kingdom, by
// their ISO 3166-1 English short names and the other names an address line commonly
// gives them, in the normal form of normaliseCountry. Left out on purpose: the United
// Kingdom and its four countries, and the Crown Dependencies (Jersey, Guernsey,
// Alderney, Sark, the Isle of Man), whose addresses have postcodes in the UK scheme
// (JE, GY, IM): an address there without its postcode is an error to correct, not an
// address abroad.
var foreignCountries = func() map[string]bool {
	names := []string{
		"AFGHANISTAN", "ALAND ISLANDS", "ALBANIA", "ALGERIA", "AMERICAN SAMOA", "ANDORRA", "ANGOLA", "ANGUILLA",
		"ANTARCTICA", "ANTIGUA AND BARBUDA", "ANTIGUA", "ARGENTINA", "ARMENIA", "ARUBA", "AUSTRALIA", "AUSTRIA",
		"AZERBAIJAN", "BAHAMAS", "BAHRAIN", "BANGLADESH", "BARBADOS", "BELARUS", "BELGIUM", "BELIZE", "BENIN",
		"BERMUDA", "BHUTAN", "BOLIVIA", "BONAIRE", "BOSNIA AND HERZEGOVINA", "BOSNIA HERZEGOVINA", "BOSNIA", "BOTSWANA", "BOUVET ISLAND",
		"BRAZIL", "BRASIL", "BRITISH INDIAN OCEAN TERRITORY", "BRITISH VIRGIN ISLANDS", "BRUNEI", "BRUNEI DARUSSALAM",
		"BULGARIA", "BURKINA FASO", "BURUNDI", "CABO VERDE", "CAPE VERDE", "CAMBODIA", "CAMEROON", "CANADA",
		"CAYMAN ISLANDS", "CENTRAL AFRICAN REPUBLIC", "CHAD", "CHILE", "CHINA", "PEOPLES REPUBLIC OF CHINA",
		"CHRISTMAS ISLAND", "COCOS ISLANDS", "COLOMBIA", "COMOROS", "CONGO", "REPUBLIC OF THE CONGO",
		"DEMOCRATIC REPUBLIC OF THE CONGO", "DR CONGO", "DRC", "COOK ISLANDS", "COSTA RICA", "COTE DIVOIRE",
		"IVORY COAST", "CROATIA", "CUBA", "CURACAO", "CYPRUS", "CZECHIA", "CZECH REPUBLIC", "DENMARK", "DJIBOUTI",
		"DOMINICA", "DOMINICAN REPUBLIC", "ECUADOR", "EGYPT", "EL SALVADOR", "EQUATORIAL GUINEA", "ERITREA",
		"ESTONIA", "ESWATINI", "SWAZILAND", "ETHIOPIA", "FALKLAND ISLANDS", "FAROE ISLANDS", "FIJI", "FINLAND",
		"FRANCE", "FRENCH GUIANA", "FRENCH POLYNESIA", "FRENCH SOUTHERN TERRITORIES", "GABON", "GAMBIA",
		"GEORGIA", "GERMANY", "DEUTSCHLAND", "GHANA", "GIBRALTAR", "GREECE", "GREENLAND", "GRENADA", "GUADELOUPE",
		"GUAM", "GUATEMALA", "GUINEA", "GUINEA BISSAU", "GUYANA", "HAITI", "HEARD ISLAND AND MCDONALD ISLANDS",
		"HOLY SEE", "VATICAN", "VATICAN CITY", "HONDURAS", "HONG KONG", "HUNGARY", "ICELAND", "INDIA", "INDONESIA",
		"IRAN", "IRAQ", "IRELAND", "REPUBLIC OF IRELAND", "IRISH REPUBLIC", "EIRE", "ISRAEL", "ITALY", "ITALIA",
		"JAMAICA", "JAPAN", "JORDAN", "KAZAKHSTAN", "KENYA", "KIRIBATI", "NORTH KOREA", "SOUTH KOREA", "KOREA",
		"REPUBLIC OF KOREA", "KOSOVO", "KUWAIT", "KYRGYZSTAN", "LAOS", "LAO PEOPLES DEMOCRATIC REPUBLIC", "LATVIA",
		"LEBANON", "LESOTHO", "LIBERIA", "LIBYA", "LIECHTENSTEIN", "LITHUANIA", "LUXEMBOURG", "MACAO", "MACAU",
		"MADAGASCAR", "MALAWI", "MALAYSIA", "MALDIVES", "MALI", "MALTA", "MARSHALL ISLANDS", "MARTINIQUE",
		"MAURITANIA", "MAURITIUS", "MAYOTTE", "MEXICO", "MICRONESIA", "MOLDOVA", "MONACO", "MONGOLIA",
		"MONTENEGRO", "MONTSERRAT", "MOROCCO", "MOZAMBIQUE", "MYANMAR", "BURMA", "NAMIBIA", "NAURU", "NEPAL",
		"NETHERLANDS", "HOLLAND", "NEW CALEDONIA", "NEW ZEALAND", "NICARAGUA", "NIGER", "NIGERIA", "NIUE",
		"NORFOLK ISLAND", "NORTH MACEDONIA", "MACEDONIA", "NORTHERN MARIANA ISLANDS", "NORWAY", "OMAN",
		"PAKISTAN", "PALAU", "PALESTINE", "PANAMA", "PAPUA NEW GUINEA", "PARAGUAY", "PERU", "PHILIPPINES",
		"PITCAIRN", "PITCAIRN ISLANDS", "POLAND", "POLSKA", "PORTUGAL", "PUERTO RICO", "QATAR", "REUNION",
		"ROMANIA", "RUSSIA", "RUSSIAN FEDERATION", "RWANDA", "SAINT BARTHELEMY", "SAINT HELENA", "ST HELENA",
		"SAINT KITTS AND NEVIS", "ST KITTS AND NEVIS", "SAINT LUCIA", "ST LUCIA", "SAINT MARTIN",
		"SAINT PIERRE AND MIQUELON", "SAINT VINCENT AND THE GRENADINES", "ST VINCENT AND THE GRENADINES", "SAMOA",
		"SAN MARINO", "SAO TOME AND PRINCIPE", "SAUDI ARABIA", "SENEGAL", "SERBIA", "SEYCHELLES", "SIERRA LEONE",
		"SINGAPORE", "SINT MAARTEN", "SLOVAKIA", "SLOVENIA", "SOLOMON ISLANDS", "SOMALIA", "SOUTH AFRICA",
		"SOUTH GEORGIA AND THE SOUTH SANDWICH ISLANDS", "SOUTH SUDAN", "SPAIN", "ESPANA", "SRI LANKA", "SUDAN",
		"SURINAME", "SVALBARD AND JAN MAYEN", "SWEDEN", "SWITZERLAND", "SYRIA", "TAIWAN", "TAJIKISTAN",
		"TANZANIA", "THAILAND", "TIMOR LESTE", "EAST TIMOR", "TOGO", "TOKELAU", "TONGA", "TRINIDAD AND TOBAGO",
		"TRINIDAD", "TUNISIA", "TURKEY", "TURKIYE", "TURKMENISTAN", "TURKS AND CAICOS ISLANDS", "TUVALU", "UGANDA",
		"UKRAINE", "UNITED ARAB EMIRATES", "UAE", "UNITED STATES", "UNITED STATES OF AMERICA", "USA", "US",
		"AMERICA", "UNITED STATES MINOR OUTLYING ISLANDS", "US VIRGIN ISLANDS", "URUGUAY", "UZBEKISTAN",
		"VANUATU", "VENEZUELA", "VIETNAM", "VIET NAM", "WALLIS AND FUTUNA", "WESTERN SAHARA", "YEMEN", "ZAMBIA",
		"ZIMBABWE",
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}()

// accentFolds maps the accented letters of country names as people write them to
// their plain letters.
var accentFolds = strings.NewReplacer(
	"Á", "A", "À", "A", "Â", "A", "Ä", "A", "Ã", "A", "Å", "A", "É", "E", "È", "E", "Ê", "E", "Ë", "E",
	"Í", "I", "Î", "I", "Ï", "I", "Ó", "O", "Ô", "O", "Ö", "O", "Õ", "O", "Ú", "U", "Û", "U", "Ü", "U",
	"Ç", "C", "Ñ", "N",
	"á", "A", "à", "A", "â", "A", "ä", "A", "ã", "A", "å", "A", "é", "E", "è", "E", "ê", "E", "ë", "E",
	"í", "I", "î", "I", "ï", "I", "ó", "O", "ô", "O", "ö", "O", "õ", "O", "ú", "U", "û", "U", "ü", "U",
	"ç", "C", "ñ", "N",
)

// normaliseCountry puts a place name in the form foreignCountries holds: accents
// folded, upper case, "&" as AND, "SAINT" abbreviated ST kept as written, punctuation
// dropped, words separated by one space, and a leading THE dropped.
func normaliseCountry(s string) string {
	s = accentFolds.Replace(s)
	var b strings.Builder
	b.Grow(len(s))
	space := true // at the start: no leading space
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '&':
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString("AND ")
			space = true
			continue
		case c == '.' || c == '\'' || c == '`' || c == '"':
			continue // "U.S.A." is USA, "Cote d'Ivoire" is COTE DIVOIRE
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		b.WriteByte(c)
		space = false
	}
	out := strings.TrimSpace(b.String())
	return strings.TrimPrefix(out, "THE ")
}

// ForeignCountry reports whether s (an address line, trimmed or not) is nothing but
// the name of a country or territory outside the United Kingdom ("France", "U.S.A.",
// "Republic of Ireland", "Côte d'Ivoire"). A line that only mentions a country among
// other words ("France Street", "12 Rue de France") is not one, and neither is any
// part of the UK or a Crown Dependency.
func ForeignCountry(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	return foreignCountries[normaliseCountry(s)]
}
