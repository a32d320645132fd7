package schemas

// ICSNames names the 42 integrated care systems by the ODS code of their integrated
// care board (ICB), as a sample carries it: "QMM" is Norfolk and Waveney. The names are
// the boards' areas as established on 1 July 2022 (the ICB's name without "NHS" and
// "Integrated Care Board"), the codes the sample frame and the publication use.
//
// Why a table here: the dashboard shows a person "Norfolk and Waveney (QMM)", not a code
// they must look up, and every part that names an ICS reads the same table. Boards that
// merge or are renamed after 2022 keep their 2022 code until the sample frame's codes
// change; a deployment that needs other names gives them in the dashboard's
// configuration (dashdata.Config.ICSNames), which takes precedence.
var ICSNames = map[string]string{
	"QE1": "Lancashire and South Cumbria",
	"QF7": "South Yorkshire",
	"QGH": "Herefordshire and Worcestershire",
	"QH8": "Mid and South Essex",
	"QHG": "Bedfordshire, Luton and Milton Keynes",
	"QHL": "Birmingham and Solihull",
	"QHM": "North East and North Cumbria",
	"QJ2": "Derby and Derbyshire",
	"QJG": "Suffolk and North East Essex",
	"QJK": "Devon",
	"QJM": "Lincolnshire",
	"QK1": "Leicester, Leicestershire and Rutland",
	"QKK": "South East London",
	"QKS": "Kent and Medway",
	"QM7": "Hertfordshire and West Essex",
	"QMF": "North East London",
	"QMJ": "North Central London",
	"QMM": "Norfolk and Waveney",
	"QNC": "Staffordshire and Stoke-on-Trent",
	"QNQ": "Frimley",
	"QNX": "Sussex",
	"QOC": "Shropshire, Telford and Wrekin",
	"QOP": "Greater Manchester",
	"QOQ": "Humber and North Yorkshire",
	"QOX": "Bath and North East Somerset, Swindon and Wiltshire",
	"QPM": "Northamptonshire",
	"QR1": "Gloucestershire",
	"QRL": "Hampshire and Isle of Wight",
	"QRV": "North West London",
	"QSL": "Somerset",
	"QT1": "Nottingham and Nottinghamshire",
	"QT6": "Cornwall and the Isles of Scilly",
	"QU9": "Buckinghamshire, Oxfordshire and Berkshire West",
	"QUA": "Black Country",
	"QUE": "Cambridgeshire and Peterborough",
	"QUY": "Bristol, North Somerset and South Gloucestershire",
	"QVV": "Dorset",
	"QWE": "South West London",
	"QWO": "West Yorkshire",
	"QWU": "Coventry and Warwickshire",
	"QXU": "Surrey Heartlands",
	"QYG": "Cheshire and Merseyside",
}

// ICSName is the name of the ICS whose board has the ODS code, or "" when the table
// does not know it.
func ICSName(code string) string { return ICSNames[code] }
