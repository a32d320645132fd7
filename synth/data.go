package synth

// Reference data for the eight Phase 1 ICSs: post towns with their outward codes, the GP
// practice code prefixes, and the ethnicity mix of the older population. The outward codes
// and towns are real so that files look like what an ICS sends; the inward codes, street
// addresses and people are made up. The other ICSs of England borrow one of the eight
// (borrowedProfiles).

import (
	"sort"

	"icesurvey/schemas"
)

// area is a post town and the outward codes that deliver to it.
type area struct {
	town       string
	county     string // "" where Royal Mail style would not name one (e.g. London)
	outward    []string
	weight     float64 // relative share of the ICS's frail population
	localities []string
}

// icsProfile is what the generator knows about one ICS.
type icsProfile struct {
	code       string
	name       string
	digit      byte     // second digit of every NHS number generated for this ICS
	idPrefix   string   // the ICS's own RECORD_ID style
	gpPrefixes []string // ODS practice code prefixes (letter and two digits)
	areas      []area
	neighbours []area         // post towns just outside the ICS (patients registered across the border)
	ethnicity  []weightedCode // ethnicity mix of the frail older population
	surnames   []string       // regional surnames mixed into the White British pool
	landlines  []string       // Ofcom drama-range landline prefixes (never real subscribers)
	// borrowed: an ICS with no profile of its own, on a copy of one of the eight above
	// (borrowedProfiles); its NHS numbers are 9, 8, index as two digits, five digits.
	borrowed bool
	index    byte
}

type weightedCode struct {
	code   string
	weight float64
}

// Ethnicity mixes. Shares are loosely after the 2021 Census for people aged 65+, with
// "Z" (not stated) and "99" (not known) at the rates GP records typically show.
var (
	ethnicityShire = []weightedCode{
		{"A", 89.5}, {"B", 0.8}, {"C", 2.4}, {"D", 0.2}, {"E", 0.1}, {"F", 0.15}, {"G", 0.15},
		{"H", 0.4}, {"J", 0.2}, {"K", 0.05}, {"L", 0.2}, {"M", 0.15}, {"N", 0.15}, {"P", 0.05},
		{"R", 0.2}, {"S", 0.3}, {"Z", 3.5}, {"99", 1.8},
	}
	ethnicityLancashire = []weightedCode{
		{"A", 82.0}, {"B", 0.9}, {"C", 1.8}, {"D", 0.2}, {"E", 0.1}, {"F", 0.3}, {"G", 0.2},
		{"H", 3.0}, {"J", 4.5}, {"K", 0.3}, {"L", 0.4}, {"M", 0.2}, {"N", 0.2}, {"P", 0.05},
		{"R", 0.2}, {"S", 0.4}, {"Z", 3.6}, {"99", 1.7},
	}
	ethnicitySouthCity = []weightedCode{
		{"A", 84.0}, {"B", 1.0}, {"C", 3.5}, {"D", 0.5}, {"E", 0.2}, {"F", 0.3}, {"G", 0.3},
		{"H", 1.0}, {"J", 0.6}, {"K", 0.3}, {"L", 0.6}, {"M", 1.0}, {"N", 1.2}, {"P", 0.3},
		{"R", 0.4}, {"S", 0.8}, {"Z", 3.5}, {"99", 1.7},
	}
	ethnicityLondon = []weightedCode{
		{"A", 58.0}, {"B", 2.5}, {"C", 8.0}, {"D", 0.8}, {"E", 0.4}, {"F", 0.5}, {"G", 0.8},
		{"H", 6.0}, {"J", 2.5}, {"K", 0.8}, {"L", 4.5}, {"M", 4.0}, {"N", 3.0}, {"P", 1.0},
		{"R", 1.0}, {"S", 2.0}, {"Z", 3.0}, {"99", 1.5},
	}
)

// Ofcom reserves these numbers for drama and test use, so synthetic contact details can
// never reach a real person: mobiles 07700 900000–900999, landlines 01632 960000–960999
// and 0113/0114/0115/0116/0117/0118/0121/0131/0141/0151/0161 496 0000–0999, 0191 498 0000–0999.
const mobileDramaPrefix = "07700900"

var profiles = append(ownProfiles, borrowedProfiles(ownProfiles)...)

// borrowedProfiles gives every other ICS of schemas.ICSNames (a national wave has 42) a
// copy of one of own, in turn by code: its towns, practices and names, under the ICS's
// own code, name and RECORD_ID prefix, and NHS numbers of its own (digit '8', which no
// own profile has, then its index).
func borrowedProfiles(own []*icsProfile) []*icsProfile {
	have := map[string]bool{}
	for _, p := range own {
		have[p.code] = true
	}
	var codes []string
	for code := range schemas.ICSNames {
		if !have[code] {
			codes = append(codes, code)
		}
	}
	sort.Strings(codes)
	out := make([]*icsProfile, len(codes))
	for i, code := range codes {
		p := *own[i%len(own)]
		p.code, p.name, p.idPrefix = code, schemas.ICSNames[code], code
		p.digit, p.borrowed, p.index = '8', true, byte(i)
		out[i] = &p
	}
	return out
}

var ownProfiles = []*icsProfile{
	{
		code: "QMM", name: "Norfolk and Waveney", digit: '0', idPrefix: "NWICE",
		gpPrefixes: []string{"D82", "D83"},
		ethnicity:  ethnicityShire,
		surnames:   []string{"Howes", "Gotts", "Cubitt", "Thrower", "Loades", "Bunn", "Dye", "Gedge", "Cossey", "Eke"},
		landlines:  []string{"01632960"},
		areas: []area{
			{"Norwich", "Norfolk", []string{"NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7", "NR8", "NR13", "NR14"}, 30, []string{"Thorpe St Andrew", "Hellesdon", "Sprowston", "Costessey", "Eaton", "Brundall"}},
			{"Great Yarmouth", "Norfolk", []string{"NR29", "NR30", "NR31"}, 9, []string{"Gorleston", "Caister-on-Sea", "Bradwell"}},
			{"Lowestoft", "Suffolk", []string{"NR32", "NR33"}, 8, []string{"Oulton Broad", "Pakefield", "Carlton Colville"}},
			{"Beccles", "Suffolk", []string{"NR34"}, 3, []string{"Worlingham"}},
			{"Bungay", "Suffolk", []string{"NR35"}, 2, nil},
			{"King's Lynn", "Norfolk", []string{"PE30", "PE31", "PE32", "PE33", "PE34"}, 10, []string{"Gaywood", "South Wootton", "Heacham"}},
			{"Dereham", "Norfolk", []string{"NR19", "NR20"}, 4, []string{"Toftwood", "Swanton Morley"}},
			{"Wymondham", "Norfolk", []string{"NR18"}, 3, nil},
			{"Attleborough", "Norfolk", []string{"NR17"}, 2, nil},
			{"Cromer", "Norfolk", []string{"NR27"}, 3, []string{"Overstrand"}},
			{"Sheringham", "Norfolk", []string{"NR26"}, 2, nil},
			{"Holt", "Norfolk", []string{"NR25"}, 2, nil},
			{"North Walsham", "Norfolk", []string{"NR28"}, 3, nil},
			{"Fakenham", "Norfolk", []string{"NR21"}, 2, nil},
			{"Thetford", "Norfolk", []string{"IP24", "IP25", "IP26"}, 3, nil},
			{"Diss", "Norfolk", []string{"IP21", "IP22"}, 3, nil},
			{"Swaffham", "Norfolk", []string{"PE37"}, 2, nil},
			{"Downham Market", "Norfolk", []string{"PE38"}, 2, nil},
		},
		neighbours: []area{
			{"Ipswich", "Suffolk", []string{"IP1", "IP4"}, 1, nil},
			{"Wisbech", "Cambridgeshire", []string{"PE13", "PE14"}, 1, nil},
			{"Halesworth", "Suffolk", []string{"IP19"}, 1, nil},
		},
	},
	{
		code: "QJK", name: "Devon", digit: '1', idPrefix: "DEV",
		gpPrefixes: []string{"L83", "L82"},
		ethnicity:  ethnicityShire,
		surnames:   []string{"Pascoe", "Tremlett", "Luscombe", "Chudleigh", "Vosper", "Squance", "Hext", "Endacott", "Heywood", "Northcott"},
		landlines:  []string{"01632960"},
		areas: []area{
			{"Exeter", "Devon", []string{"EX1", "EX2", "EX4", "EX5", "EX6"}, 16, []string{"Heavitree", "St Thomas", "Pinhoe", "Alphington", "Topsham"}},
			{"Exmouth", "Devon", []string{"EX8"}, 5, []string{"Littleham", "Withycombe Raleigh"}},
			{"Sidmouth", "Devon", []string{"EX10"}, 3, []string{"Sidford"}},
			{"Honiton", "Devon", []string{"EX14"}, 3, nil},
			{"Tiverton", "Devon", []string{"EX16"}, 3, nil},
			{"Crediton", "Devon", []string{"EX17"}, 2, nil},
			{"Okehampton", "Devon", []string{"EX20"}, 2, nil},
			{"Barnstaple", "Devon", []string{"EX31", "EX32"}, 5, []string{"Pilton", "Newport"}},
			{"Bideford", "Devon", []string{"EX39"}, 3, []string{"Northam", "Westward Ho!"}},
			{"Ilfracombe", "Devon", []string{"EX34"}, 2, nil},
			{"Dawlish", "Devon", []string{"EX7"}, 2, nil},
			{"Plymouth", "Devon", []string{"PL1", "PL2", "PL3", "PL4", "PL5", "PL6", "PL7", "PL9"}, 20, []string{"Plympton", "Plymstock", "Crownhill", "Stoke", "Mutley", "Mannamead"}},
			{"Tavistock", "Devon", []string{"PL19"}, 2, nil},
			{"Ivybridge", "Devon", []string{"PL21"}, 2, nil},
			{"Torquay", "Devon", []string{"TQ1", "TQ2"}, 8, []string{"Babbacombe", "St Marychurch", "Chelston"}},
			{"Paignton", "Devon", []string{"TQ3", "TQ4"}, 6, []string{"Preston", "Goodrington"}},
			{"Brixham", "Devon", []string{"TQ5"}, 2, nil},
			{"Totnes", "Devon", []string{"TQ9"}, 2, nil},
			{"Kingsbridge", "Devon", []string{"TQ7"}, 2, nil},
			{"Newton Abbot", "Devon", []string{"TQ12", "TQ13"}, 5, []string{"Kingsteignton", "Bovey Tracey"}},
			{"Teignmouth", "Devon", []string{"TQ14"}, 2, nil},
		},
		neighbours: []area{
			{"Taunton", "Somerset", []string{"TA1", "TA2"}, 1, nil},
			{"Launceston", "Cornwall", []string{"PL15"}, 1, nil},
			{"Saltash", "Cornwall", []string{"PL12"}, 1, nil},
		},
	},
	{
		code: "QJ2", name: "Derby and Derbyshire", digit: '2', idPrefix: "DDICB",
		gpPrefixes: []string{"C81"},
		ethnicity:  ethnicityShire,
		surnames:   []string{"Bagshaw", "Bown", "Wragg", "Froggatt", "Hadfield", "Slack", "Fearn", "Greatorex", "Wildgoose", "Bradbury"},
		landlines:  []string{"01632960", "0114496"},
		areas: []area{
			{"Derby", "Derbyshire", []string{"DE1", "DE3", "DE21", "DE22", "DE23", "DE24", "DE65", "DE72", "DE73"}, 28, []string{"Allestree", "Chaddesden", "Mickleover", "Littleover", "Spondon", "Alvaston", "Oakwood", "Borrowash"}},
			{"Ilkeston", "Derbyshire", []string{"DE7"}, 6, []string{"Kirk Hallam", "Cotmanhay"}},
			{"Ripley", "Derbyshire", []string{"DE5"}, 4, nil},
			{"Belper", "Derbyshire", []string{"DE56"}, 3, nil},
			{"Matlock", "Derbyshire", []string{"DE4"}, 3, []string{"Darley Dale", "Wirksworth"}},
			{"Ashbourne", "Derbyshire", []string{"DE6"}, 2, nil},
			{"Swadlincote", "Derbyshire", []string{"DE11", "DE12"}, 5, []string{"Woodville", "Newhall"}},
			{"Heanor", "Derbyshire", []string{"DE75"}, 3, nil},
			{"Alfreton", "Derbyshire", []string{"DE55"}, 4, []string{"South Normanton", "Somercotes"}},
			{"Chesterfield", "Derbyshire", []string{"S40", "S41", "S42", "S43", "S44", "S45"}, 16, []string{"Brimington", "Staveley", "Clay Cross", "Bolsover", "Walton", "Newbold"}},
			{"Dronfield", "Derbyshire", []string{"S18"}, 3, nil},
			{"Sheffield", "", []string{"S21"}, 2, []string{"Eckington", "Killamarsh"}},
			{"Hope Valley", "Derbyshire", []string{"S32", "S33"}, 1, []string{"Hathersage", "Castleton"}},
			{"Buxton", "Derbyshire", []string{"SK17"}, 3, nil},
			{"Glossop", "Derbyshire", []string{"SK13"}, 3, []string{"Hadfield"}},
			{"High Peak", "Derbyshire", []string{"SK22", "SK23"}, 2, []string{"New Mills", "Chapel-en-le-Frith"}},
		},
		neighbours: []area{
			{"Nottingham", "Nottinghamshire", []string{"NG9", "NG10", "NG16"}, 1, nil},
			{"Sheffield", "", []string{"S8", "S17"}, 1, nil},
			{"Uttoxeter", "Staffordshire", []string{"ST14"}, 1, nil},
		},
	},
	{
		code: "QE1", name: "Lancashire and South Cumbria", digit: '3', idPrefix: "LSC",
		gpPrefixes: []string{"P81", "A82"},
		ethnicity:  ethnicityLancashire,
		surnames:   []string{"Ashworth", "Haworth", "Whittaker", "Greenhalgh", "Entwistle", "Pilkington", "Nuttall", "Sharples", "Hindle", "Crook"},
		landlines:  []string{"01632960", "0161496"},
		areas: []area{
			{"Preston", "Lancashire", []string{"PR1", "PR2", "PR3", "PR4", "PR5"}, 14, []string{"Fulwood", "Ashton-on-Ribble", "Penwortham", "Longridge", "Walton-le-Dale"}},
			{"Chorley", "Lancashire", []string{"PR6", "PR7"}, 5, []string{"Euxton", "Adlington"}},
			{"Leyland", "Lancashire", []string{"PR25", "PR26"}, 4, nil},
			{"Blackburn", "Lancashire", []string{"BB1", "BB2"}, 9, []string{"Audley", "Mill Hill", "Wensley Fold", "Feniscowles"}},
			{"Darwen", "Lancashire", []string{"BB3"}, 2, nil},
			{"Burnley", "Lancashire", []string{"BB10", "BB11", "BB12"}, 6, []string{"Padiham", "Brierfield"}},
			{"Accrington", "Lancashire", []string{"BB5"}, 4, []string{"Oswaldtwistle", "Clayton-le-Moors"}},
			{"Nelson", "Lancashire", []string{"BB9"}, 3, nil},
			{"Colne", "Lancashire", []string{"BB8"}, 2, nil},
			{"Rossendale", "Lancashire", []string{"BB4"}, 3, []string{"Rawtenstall", "Haslingden", "Bacup"}},
			{"Clitheroe", "Lancashire", []string{"BB7"}, 2, nil},
			{"Blackpool", "Lancashire", []string{"FY1", "FY2", "FY3", "FY4"}, 10, []string{"Bispham", "South Shore", "Layton", "Marton"}},
			{"Lytham St Annes", "Lancashire", []string{"FY8"}, 3, nil},
			{"Thornton-Cleveleys", "Lancashire", []string{"FY5"}, 2, nil},
			{"Poulton-le-Fylde", "Lancashire", []string{"FY6"}, 2, nil},
			{"Fleetwood", "Lancashire", []string{"FY7"}, 2, nil},
			{"Lancaster", "Lancashire", []string{"LA1", "LA2"}, 4, []string{"Scotforth", "Bowerham", "Galgate"}},
			{"Morecambe", "Lancashire", []string{"LA3", "LA4"}, 4, []string{"Heysham", "Bare"}},
			{"Carnforth", "Lancashire", []string{"LA5", "LA6"}, 1, nil},
			{"Kendal", "Cumbria", []string{"LA8", "LA9"}, 3, nil},
			{"Windermere", "Cumbria", []string{"LA23"}, 1, nil},
			{"Ulverston", "Cumbria", []string{"LA12"}, 1, nil},
			{"Barrow-in-Furness", "Cumbria", []string{"LA13", "LA14"}, 4, []string{"Walney", "Roose"}},
			{"Grange-over-Sands", "Cumbria", []string{"LA11"}, 1, nil},
			{"Skelmersdale", "Lancashire", []string{"WN8"}, 2, nil},
			{"Ormskirk", "Lancashire", []string{"L39", "L40"}, 2, []string{"Aughton", "Burscough"}},
		},
		neighbours: []area{
			{"Wigan", "", []string{"WN1", "WN6"}, 1, nil},
			{"Bolton", "", []string{"BL7"}, 1, nil},
			{"Southport", "Merseyside", []string{"PR8", "PR9"}, 1, nil},
		},
	},
	{
		code: "QHM", name: "North East and North Cumbria (Durham)", digit: '4', idPrefix: "CDP",
		gpPrefixes: []string{"A83"},
		ethnicity:  ethnicityShire,
		surnames:   []string{"Robson", "Charlton", "Milburn", "Armstrong", "Elliott", "Dodds", "Hetherington", "Bell", "Tweddle", "Lamb"},
		landlines:  []string{"01632960", "0191498"},
		areas: []area{
			{"Durham", "County Durham", []string{"DH1", "DH6", "DH7"}, 10, []string{"Gilesgate", "Framwellgate Moor", "Brandon", "Sherburn", "Bowburn", "Ushaw Moor"}},
			{"Chester le Street", "County Durham", []string{"DH2", "DH3"}, 6, []string{"Pelton", "Sacriston", "Great Lumley"}},
			{"Stanley", "County Durham", []string{"DH9"}, 5, []string{"Annfield Plain", "Tanfield"}},
			{"Consett", "County Durham", []string{"DH8"}, 5, []string{"Blackhill", "Leadgate", "Delves Lane"}},
			{"Houghton le Spring", "Tyne and Wear", []string{"DH4", "DH5"}, 4, []string{"Hetton-le-Hole", "Fence Houses"}},
			{"Bishop Auckland", "County Durham", []string{"DL14"}, 7, []string{"Coundon", "West Auckland", "Evenwood"}},
			{"Spennymoor", "County Durham", []string{"DL16"}, 4, []string{"Tudhoe", "Middlestone Moor"}},
			{"Ferryhill", "County Durham", []string{"DL17"}, 3, []string{"Chilton", "Cornforth"}},
			{"Newton Aycliffe", "County Durham", []string{"DL5"}, 4, nil},
			{"Crook", "County Durham", []string{"DL15"}, 2, []string{"Willington", "Tow Law"}},
			{"Barnard Castle", "County Durham", []string{"DL12"}, 2, []string{"Startforth", "Middleton-in-Teesdale"}},
			{"Darlington", "County Durham", []string{"DL1", "DL2", "DL3"}, 5, nil},
			{"Peterlee", "County Durham", []string{"SR8"}, 5, []string{"Horden", "Easington Colliery", "Blackhall Colliery"}},
			{"Seaham", "County Durham", []string{"SR7"}, 4, []string{"Murton", "Dawdon"}},
			{"Sunderland", "Tyne and Wear", []string{"SR1", "SR2", "SR3", "SR4", "SR5", "SR6"}, 3, nil},
		},
		neighbours: []area{
			{"Newcastle upon Tyne", "Tyne and Wear", []string{"NE4", "NE5"}, 1, nil},
			{"Hartlepool", "", []string{"TS24", "TS25"}, 1, nil},
			{"Middlesbrough", "", []string{"TS1", "TS5"}, 1, nil},
		},
	},
	{
		code: "QNX", name: "Sussex", digit: '5', idPrefix: "SXICB",
		gpPrefixes: []string{"G81", "H82"},
		ethnicity:  ethnicitySouthCity,
		surnames:   []string{"Funnell", "Packham", "Stenning", "Pelling", "Tester", "Divall", "Goldsmith", "Sayers", "Verrall", "Winton"},
		landlines:  []string{"01632960"},
		areas: []area{
			{"Brighton", "East Sussex", []string{"BN1", "BN2"}, 11, []string{"Kemp Town", "Patcham", "Whitehawk", "Rottingdean", "Moulsecoomb"}},
			{"Hove", "East Sussex", []string{"BN3"}, 5, []string{"Aldrington", "Portslade"}},
			{"Worthing", "West Sussex", []string{"BN11", "BN12", "BN13", "BN14"}, 9, []string{"Goring-by-Sea", "Durrington", "Broadwater", "Findon Valley"}},
			{"Lancing", "West Sussex", []string{"BN15"}, 2, nil},
			{"Shoreham-by-Sea", "West Sussex", []string{"BN43"}, 2, nil},
			{"Littlehampton", "West Sussex", []string{"BN16", "BN17"}, 3, []string{"Rustington", "Angmering", "East Preston"}},
			{"Lewes", "East Sussex", []string{"BN7"}, 2, nil},
			{"Newhaven", "East Sussex", []string{"BN9"}, 1, nil},
			{"Seaford", "East Sussex", []string{"BN25"}, 3, nil},
			{"Eastbourne", "East Sussex", []string{"BN20", "BN21", "BN22", "BN23"}, 9, []string{"Meads", "Old Town", "Hampden Park", "Langney"}},
			{"Hailsham", "East Sussex", []string{"BN27"}, 2, nil},
			{"Bognor Regis", "West Sussex", []string{"PO21", "PO22"}, 5, []string{"Aldwick", "Felpham", "Pagham"}},
			{"Chichester", "West Sussex", []string{"PO18", "PO19", "PO20"}, 5, []string{"Selsey", "East Wittering", "Bosham"}},
			{"Crawley", "West Sussex", []string{"RH10", "RH11"}, 5, []string{"Three Bridges", "Ifield", "Broadfield"}},
			{"Horsham", "West Sussex", []string{"RH12", "RH13"}, 5, []string{"Southwater", "Broadbridge Heath"}},
			{"Haywards Heath", "West Sussex", []string{"RH16", "RH17"}, 3, []string{"Lindfield", "Cuckfield"}},
			{"Burgess Hill", "West Sussex", []string{"RH15"}, 2, nil},
			{"East Grinstead", "West Sussex", []string{"RH19"}, 2, nil},
			{"Hastings", "East Sussex", []string{"TN34", "TN35"}, 4, []string{"Ore", "Silverhill"}},
			{"St Leonards-on-Sea", "East Sussex", []string{"TN37", "TN38"}, 3, nil},
			{"Bexhill-on-Sea", "East Sussex", []string{"TN39", "TN40"}, 4, []string{"Little Common", "Sidley"}},
			{"Crowborough", "East Sussex", []string{"TN6"}, 2, nil},
			{"Uckfield", "East Sussex", []string{"TN22"}, 2, nil},
			{"Battle", "East Sussex", []string{"TN33"}, 1, nil},
			{"Rye", "East Sussex", []string{"TN31"}, 1, nil},
		},
		neighbours: []area{
			{"Redhill", "Surrey", []string{"RH1"}, 1, nil},
			{"Tunbridge Wells", "Kent", []string{"TN1", "TN2"}, 1, nil},
			{"Portsmouth", "Hampshire", []string{"PO1", "PO4"}, 1, nil},
		},
	},
	{
		code: "QUY", name: "Bristol, North Somerset and South Gloucestershire", digit: '6', idPrefix: "BNSSG",
		gpPrefixes: []string{"L81"},
		ethnicity:  ethnicitySouthCity,
		surnames:   []string{"Gingell", "Fry", "Brimble", "Tovey", "Hembrow", "Pearce", "Bevan", "Ashman", "Gulliford", "Wiltshire"},
		landlines:  []string{"01632960", "0117496"},
		areas: []area{
			{"Bristol", "", []string{"BS1", "BS2", "BS3", "BS4", "BS5", "BS6", "BS7", "BS8", "BS9", "BS10", "BS11", "BS13", "BS14", "BS15", "BS16"}, 50, []string{"Bedminster", "Southmead", "Henleaze", "Fishponds", "Knowle", "Hartcliffe", "Kingswood", "Westbury-on-Trym", "Brislington", "Easton", "Lawrence Weston", "Whitchurch"}},
			{"Bristol", "", []string{"BS30", "BS31", "BS32", "BS34", "BS35", "BS36", "BS37"}, 14, []string{"Warmley", "Keynsham", "Bradley Stoke", "Filton", "Thornbury", "Frampton Cotterell", "Yate", "Chipping Sodbury"}},
			{"Bristol", "", []string{"BS20", "BS40", "BS41", "BS48", "BS49"}, 6, []string{"Portishead", "Wrington", "Long Ashton", "Nailsea", "Yatton"}},
			{"Weston-super-Mare", "", []string{"BS22", "BS23", "BS24"}, 10, []string{"Worle", "Milton", "Uphill", "Locking"}},
			{"Clevedon", "", []string{"BS21"}, 3, nil},
			{"Winscombe", "", []string{"BS25"}, 1, nil},
		},
		neighbours: []area{
			{"Bath", "", []string{"BA1", "BA2"}, 1, nil},
			{"Wotton-under-Edge", "Gloucestershire", []string{"GL12"}, 1, nil},
			{"Newport", "", []string{"NP20"}, 1, nil},
		},
	},
	{
		code: "QWE", name: "South West London", digit: '7', idPrefix: "SWL",
		gpPrefixes: []string{"H85", "H84"},
		ethnicity:  ethnicityLondon,
		surnames:   []string{"Chapman", "Barker", "Holloway", "Mason", "Payne", "Saunders", "Webb", "Stevens", "Dunn", "Fisher"},
		landlines:  []string{"01632960", "0207946"},
		areas: []area{
			{"London", "", []string{"SW11", "SW12", "SW15", "SW17", "SW18"}, 18, []string{"Battersea", "Balham", "Putney", "Tooting", "Wandsworth", "Earlsfield"}},
			{"London", "", []string{"SW16", "SW19", "SW20"}, 12, []string{"Streatham", "Wimbledon", "Raynes Park", "Colliers Wood"}},
			{"Mitcham", "Surrey", []string{"CR4"}, 5, nil},
			{"Morden", "Surrey", []string{"SM4"}, 3, nil},
			{"Sutton", "Surrey", []string{"SM1", "SM2", "SM3"}, 7, []string{"Cheam", "Belmont"}},
			{"Carshalton", "Surrey", []string{"SM5"}, 3, nil},
			{"Wallington", "Surrey", []string{"SM6"}, 3, nil},
			{"Croydon", "Surrey", []string{"CR0"}, 12, []string{"Shirley", "Addiscombe", "New Addington", "Waddon"}},
			{"South Croydon", "Surrey", []string{"CR2"}, 4, []string{"Sanderstead", "Selsdon"}},
			{"Thornton Heath", "Surrey", []string{"CR7"}, 4, nil},
			{"Purley", "Surrey", []string{"CR8"}, 3, []string{"Kenley"}},
			{"Coulsdon", "Surrey", []string{"CR5"}, 2, nil},
			{"Kingston upon Thames", "Surrey", []string{"KT1", "KT2"}, 5, []string{"Norbiton", "Coombe"}},
			{"New Malden", "Surrey", []string{"KT3"}, 3, nil},
			{"Worcester Park", "Surrey", []string{"KT4"}, 2, nil},
			{"Surbiton", "Surrey", []string{"KT5", "KT6"}, 3, []string{"Tolworth", "Berrylands"}},
			{"Chessington", "Surrey", []string{"KT9"}, 2, nil},
			{"Richmond", "Surrey", []string{"TW9", "TW10"}, 3, []string{"Kew", "Ham"}},
			{"Twickenham", "Middlesex", []string{"TW1", "TW2"}, 4, []string{"Whitton", "Strawberry Hill"}},
			{"Teddington", "Middlesex", []string{"TW11"}, 2, nil},
			{"Hampton", "Middlesex", []string{"TW12"}, 2, nil},
		},
		neighbours: []area{
			{"London", "", []string{"SW2", "SW9"}, 1, nil},
			{"Epsom", "Surrey", []string{"KT17", "KT19"}, 1, nil},
			{"Hounslow", "Middlesex", []string{"TW3"}, 1, nil},
		},
	},
}

// Street name stems and suffixes; "High Street" and friends come from fixedStreets.
var (
	streetStems = []string{
		"Church", "Mill", "Station", "Victoria", "Queens", "Kings", "Park", "Green", "Manor", "School",
		"Orchard", "Chapel", "Meadow", "Elm", "Oak", "Beech", "Willow", "Ash", "Windsor", "York",
		"Albert", "North", "South", "West", "Springfield", "Highfield", "Grange", "Hillside", "St John's", "Nelson",
		"Wellington", "Cromwell", "Gladstone", "Jubilee", "Coronation", "Priory", "Abbey", "Bridge", "Water", "Brook",
		"Long", "New", "Alexandra", "Princess", "Cedar", "Holly", "Rectory", "Vicarage", "Farm", "Field",
		"Castle", "Market", "Cemetery", "Hawthorn", "Rowan", "Chestnut", "Laburnum", "Lime", "Poplar", "Sycamore",
		"Fairfield", "Greenway", "Broad", "Moor", "Heath", "Common", "Copse", "Mount", "Tennyson", "Shakespeare",
	}
	streetSuffixes = []string{
		"Road", "Road", "Road", "Street", "Street", "Lane", "Lane", "Close", "Close", "Avenue", "Avenue",
		"Drive", "Way", "Gardens", "Crescent", "Terrace", "Grove", "Place", "Court", "Walk", "Rise", "View",
	}
	fixedStreets = []string{"High Street", "The Street", "The Avenue", "The Green", "Main Road", "London Road", "Market Place", "The Crescent"}
	houseNames   = []string{
		"Rose Cottage", "The Old Rectory", "Orchard House", "Meadow View", "Holly Cottage", "The Bungalow", "Ivy Cottage",
		"Fairview", "Woodlands", "The Coach House", "Hillcrest", "Sunnyside", "The Laurels", "Brook House", "Rosedene",
	}
	buildingNames = []string{
		"Nelson Court", "Abbey Court", "Victoria House", "Kingsley Court", "Mill House", "Jubilee Court", "Priory Court",
		"St Mary's Court", "Cedar Court", "Harbour View", "Riverside House", "Parkside", "Elm Court", "Station House",
	}
	careHomeNames = []string{
		"The Beeches Care Home", "Willow Lodge Nursing Home", "Oak Tree House", "Cedar Grange Care Home", "Abbeyfield House",
		"St Anne's Residential Home", "Meadowbank Care Centre", "The Elms Nursing Home", "Rosewood Lodge", "Hollyfield House",
		"Orchard Grange", "Brookside Care Home", "The Poplars", "Highfield Court Care Home", "Sunrise Lodge",
	}
)

// namePool is a set of first names and surnames for one naming tradition.
type namePool struct {
	male, female, surnames []string
}

var (
	poolBritish = namePool{
		male: []string{"John", "David", "Michael", "Peter", "Robert", "Brian", "Alan", "William", "James", "Roy",
			"Kenneth", "Derek", "Ronald", "Geoffrey", "Keith", "Anthony", "Terence", "Colin", "Barry", "Raymond",
			"George", "Dennis", "Graham", "Malcolm", "Trevor", "Stephen", "Christopher", "Richard", "Frank", "Harold",
			"Eric", "Stanley", "Leslie", "Norman", "Gordon", "Arthur", "Albert", "Douglas", "Roger", "Philip",
			"Gary", "Paul", "Mark", "Ian", "Neil", "Kevin", "Andrew", "Martin", "Clive", "Dennis"},
		female: []string{"Margaret", "Patricia", "Jean", "Mary", "Joan", "Barbara", "Sheila", "Doreen", "Brenda", "Shirley",
			"Pauline", "Sandra", "Christine", "Susan", "Janet", "Valerie", "Maureen", "Irene", "Joyce", "Dorothy",
			"Kathleen", "Elizabeth", "Ann", "Anne", "Jennifer", "Linda", "Carol", "Gillian", "Eileen", "Audrey",
			"Hazel", "Marion", "June", "Pamela", "Rita", "Beryl", "Sylvia", "Betty", "Vera", "Edna",
			"Julie", "Karen", "Diane", "Lynn", "Wendy", "Elaine", "Jacqueline", "Rosemary", "Angela", "Heather"},
		surnames: []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
			"Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke",
			"Harris", "Lewis", "Turner", "Hill", "Cooper", "Ward", "Morris", "Moore", "King", "Watson",
			"Baker", "Harrison", "Morgan", "Allen", "Young", "Mitchell", "Carter", "Phillips", "Parker", "Cook",
			"Bennett", "Shaw", "Atkinson", "Marshall", "Ellis", "Hughes", "Edwards", "Lee", "Collins", "Stewart",
			"Knight", "Barnes", "Holmes", "Lloyd", "Price", "Gray", "Rose", "Hunt", "Palmer", "Fox",
			"Webster", "Simpson", "Dawson", "Rowe", "Spencer", "Newman", "Fletcher", "Gibson", "Pickering", "Ford"},
	}
	poolIrish = namePool{
		male:     []string{"Patrick", "Sean", "Michael", "Brendan", "Liam", "Declan", "Kieran", "Seamus", "Eamon", "Dermot", "Gerard", "Francis"},
		female:   []string{"Bridget", "Mary", "Siobhan", "Kathleen", "Maureen", "Noreen", "Nuala", "Eileen", "Philomena", "Teresa", "Majella", "Roisin"},
		surnames: []string{"Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor", "O'Neill", "Doyle", "McCarthy", "Gallagher", "Quinn", "Kennedy", "Brennan", "Fitzgerald"},
	}
	poolEuropean = namePool{
		male:     []string{"Jan", "Krzysztof", "Stanislaw", "Giuseppe", "Antonio", "Manuel", "Andreas", "Dimitrios", "Janis", "Henryk", "Pieter", "Klaus"},
		female:   []string{"Maria", "Anna", "Krystyna", "Teresa", "Giovanna", "Rosa", "Helga", "Elena", "Zofia", "Ingrid", "Sofia", "Danuta"},
		surnames: []string{"Kowalski", "Nowak", "Wisniewski", "Rossi", "Esposito", "Ferreira", "Silva", "Papadopoulos", "Muller", "Schmidt", "Kaminski", "Bianchi", "Georgiou", "Zielinska", "Ozols"},
	}
	poolIndian = namePool{
		male:     []string{"Rajesh", "Ravinder", "Gurdeep", "Surinder", "Harbans", "Mahesh", "Suresh", "Ashok", "Dinesh", "Jagdish", "Balvinder", "Pritam"},
		female:   []string{"Kamala", "Sushila", "Jaswinder", "Manjit", "Harjit", "Savita", "Pushpa", "Usha", "Kanta", "Sarla", "Gurmit", "Bhavna"},
		surnames: []string{"Patel", "Sharma", "Singh", "Kaur", "Gill", "Sandhu", "Mistry", "Chauhan", "Parmar", "Shah", "Kumar", "Joshi", "Lad", "Solanki"},
	}
	poolPakistani = namePool{
		male:     []string{"Mohammed", "Muhammad", "Abdul", "Tariq", "Mahmood", "Zafar", "Iqbal", "Bashir", "Nazir", "Aslam", "Rashid", "Karim"},
		female:   []string{"Nasreen", "Shamim", "Parveen", "Zubeda", "Rukhsana", "Naseem", "Shahnaz", "Bushra", "Fatima", "Razia", "Khalida", "Zarina"},
		surnames: []string{"Khan", "Hussain", "Ahmed", "Akhtar", "Iqbal", "Ali", "Mahmood", "Rashid", "Butt", "Malik", "Qureshi", "Raja", "Shah", "Bibi"},
	}
	poolBangladeshi = namePool{
		male:     []string{"Abdul", "Mohammed", "Anwar", "Shahid", "Jamal", "Nurul", "Abul", "Rafiq", "Motin", "Sirajul"},
		female:   []string{"Rahima", "Jahanara", "Rokeya", "Amina", "Halima", "Momtaz", "Sufia", "Rabeya", "Shirin", "Nurjahan"},
		surnames: []string{"Begum", "Miah", "Uddin", "Rahman", "Islam", "Ahmed", "Khatun", "Hoque", "Chowdhury", "Ali", "Hussain"},
	}
	poolOtherAsian = namePool{
		male:     []string{"Sivakumar", "Ranjan", "Nimal", "Jose", "Rodrigo", "Thanh", "Minh", "Kumar", "Prakash", "Arjun"},
		female:   []string{"Kamalini", "Sumathi", "Chandrika", "Maria", "Lourdes", "Lan", "Hoa", "Malini", "Priya", "Tharani"},
		surnames: []string{"Sivapalan", "Rajaratnam", "Perera", "Fernando", "Silva", "Santos", "Reyes", "Nguyen", "Tran", "Thapa", "Gurung", "Kanagaratnam"},
	}
	poolCaribbean = namePool{
		male:     []string{"Winston", "Delroy", "Clement", "Lloyd", "Errol", "Leroy", "Cecil", "Neville", "Fitzroy", "Carlton", "Hubert", "Rupert"},
		female:   []string{"Hyacinth", "Gloria", "Beverley", "Pearl", "Myrtle", "Icilda", "Merle", "Cynthia", "Verona", "Enid", "Claudette", "Lorna"},
		surnames: []string{"Campbell", "Williams", "Brown", "Thomas", "Francis", "Grant", "Reid", "Morgan", "Clarke", "Henry", "Gordon", "Bailey", "Richards", "Powell"},
	}
	poolAfrican = namePool{
		male:     []string{"Adebayo", "Oluwaseun", "Emeka", "Kwame", "Kofi", "Abdi", "Mohamed", "Chinedu", "Samuel", "Joseph", "Yaw", "Tunde"},
		female:   []string{"Ngozi", "Folasade", "Abena", "Akosua", "Amina", "Hodan", "Grace", "Comfort", "Blessing", "Funmilayo", "Adwoa", "Chioma"},
		surnames: []string{"Okafor", "Adeyemi", "Mensah", "Owusu", "Boateng", "Abdi", "Hassan", "Okonkwo", "Adebayo", "Asante", "Oyelaran", "Nwosu", "Warsame", "Osei"},
	}
	poolChinese = namePool{
		male:     []string{"Wei", "Chun", "Kwok", "Ming", "Kam", "Wing", "Hong", "Jian", "Tak", "Kin"},
		female:   []string{"Mei", "Lai", "Siu", "Yuk", "Fung", "Ling", "Wai", "Xiu", "Ying", "Hui"},
		surnames: []string{"Chen", "Wong", "Li", "Zhang", "Chan", "Cheung", "Lam", "Lau", "Ho", "Tang", "Leung", "Ng"},
	}
	poolOther = namePool{
		male:     []string{"Ahmad", "Hassan", "Mehmet", "Mustafa", "Reza", "Ali", "Yusuf", "Ibrahim", "Ramon", "Omar"},
		female:   []string{"Fatma", "Leila", "Zeynep", "Maryam", "Nadia", "Samira", "Ayse", "Shirin", "Huda", "Layla"},
		surnames: []string{"Yilmaz", "Kaya", "Hosseini", "Karimi", "Haddad", "Mansour", "Demir", "Aziz", "Saleh", "Rahimi", "Celik", "Nasser"},
	}
)

// poolFor maps an ethnic category to the naming pool used for made-up names.
func poolFor(code string) *namePool {
	switch code {
	case "B":
		return &poolIrish
	case "C":
		return &poolEuropean
	case "D", "M":
		return &poolCaribbean
	case "E", "N":
		return &poolAfrican
	case "P":
		return &poolCaribbean
	case "H":
		return &poolIndian
	case "J":
		return &poolPakistani
	case "K":
		return &poolBangladeshi
	case "L":
		return &poolOtherAsian
	case "R":
		return &poolChinese
	case "S":
		return &poolOther
	}
	return &poolBritish // A, F, G, Z, 99
}
