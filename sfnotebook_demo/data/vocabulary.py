"""Words the row generators draw text from: names, companies, places, subjects, and the
text with every CSV hazard (used by :mod:`~sfnotebook_demo.data.seed` and
:mod:`~sfnotebook_demo.data.opportunities`). Picklist values are in the schema.
"""

from __future__ import annotations

__all__ = [
    "CASE_SUBJECTS",
    "COMPANY_NOUNS",
    "COMPANY_SUFFIXES",
    "COMPANY_WORDS",
    "FIRST_NAMES",
    "LANGUAGES",
    "LAST_NAMES",
    "NEXT_STEPS",
    "PLACES",
    "PRODUCTS",
    "QUIRKY_TEXT",
    "SPECIAL_COMPANIES",
    "STREETS",
    "TASK_SUBJECTS",
    "TITLES",
]

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
    "Margaret", "Priya", "Wei", "Aisha", "Mohammed", "Yuki", "Olga", "Carlos", "Fatima", "José",
    "Zoë", "Søren", "François", "Łukasz", "Björn", "Chloé", "Ngozi", "Siobhán", "Renée", "Jürgen",
    "Ana María", "D'Andre", "Nguyễn",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis",
    "Young", "Walker", "Hall", "O'Brien", "O'Connor", "Müller", "Schäfer", "Dubois", "Lefèvre",
    "Nowak", "Kowalczyk", "Østergaard", "Andersson", "Tanaka", "Yamamoto", "Kim", "Park",
    "Chen", "Wang", "Singh", "Patel", "García Márquez", "van der Berg", "Smith-Jones", "李",
)  # fmt: skip
COMPANY_WORDS = (
    "Acme", "Apex", "Blue", "Bright", "Cedar", "Summit", "Delta", "Eagle", "Evergreen", "Falcon",
    "Global", "Granite", "Harbor", "Horizon", "Iron", "Keystone", "Liberty", "Maple", "Meridian",
    "Nova", "Oak", "Orion", "Pacific", "Pioneer", "Quantum", "Redwood", "River", "Silver",
    "Sterling", "Stone", "Sun", "Titan", "Union", "United", "Vertex", "Vista", "West", "Zenith",
    "Nordic", "Alpine", "Coastal", "Prairie", "Crescent", "Beacon", "Atlas", "Lumen",
    "Amber", "Anchor", "Arrow", "Aspen", "Aurora", "Bay", "Birch", "Bluebird", "Boulder",
    "Bridge", "Canyon", "Cardinal", "Cascade", "Centric", "Clear", "Cobalt", "Compass", "Copper",
    "Cypress", "Dawn", "Echo", "Elm", "Ember", "Fairway", "Fern", "Firefly", "Fjord", "Forge",
    "Frontier", "Gateway", "Glacier", "Golden", "Harvest", "Hawk", "Heritage", "Highland",
    "Hudson", "Indigo", "Island", "Juniper", "Lakeside", "Lantern", "Laurel", "Magnolia",
    "Marble", "Mesa", "Monarch", "Northstar", "Oasis", "Onyx", "Osprey", "Pegasus", "Pinnacle",
    "Polar", "Raven", "Ridge", "Sable", "Sage", "Sequoia", "Sierra", "Spruce", "Tidewater",
    "Timber", "Trident", "Tundra", "Valley", "Willow", "Windmill",
)  # fmt: skip
COMPANY_NOUNS = (
    "Systems", "Logistics", "Foods", "Energy", "Health", "Labs", "Networks", "Partners",
    "Manufacturing", "Media", "Capital", "Consulting", "Dynamics", "Industries", "Solutions",
    "Telecom", "Motors", "Pharma", "Retail", "Analytics", "Robotics", "Textiles", "Airlines",
    "Biotech", "Brewing", "Construction", "Design", "Electric", "Engineering", "Farms",
    "Freight", "Hospitality", "Insurance", "Instruments", "Marine", "Materials", "Medical",
    "Mining", "Outfitters", "Packaging", "Power", "Software", "Studios", "Supply", "Travel",
    "Water", "Wireless",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc.", "LLC", "Ltd", "Corp.", "GmbH", "S.A.", "AG", "plc", "Co.", "Group")
SPECIAL_COMPANIES = (
    "Smith, Jones & Partners", "O'Reilly Freight", 'The "Best" Bakery', "Müller & Söhne GmbH",
    "Société Générale de Café", "Ærø Shipping ApS", "株式会社サンプル", "Zürich Rück AG",
    "São Paulo Têxteis Ltda.", "Kraków Steel S.A.", "Dvořák Instruments", "Ünal Tekstil A.Ş.",
)  # fmt: skip
# (city, state, country, postal code prefix, latitude, longitude)
PLACES = (
    ("San Francisco", "CA", "United States", "941", 37.7749, -122.4194),
    ("New York", "NY", "United States", "100", 40.7128, -74.0060),
    ("Austin", "TX", "United States", "787", 30.2672, -97.7431),
    ("Chicago", "IL", "United States", "606", 41.8781, -87.6298),
    ("Seattle", "WA", "United States", "981", 47.6062, -122.3321),
    ("Boston", "MA", "United States", "021", 42.3601, -71.0589),
    ("Atlanta", "GA", "United States", "303", 33.7490, -84.3880),
    ("Denver", "CO", "United States", "802", 39.7392, -104.9903),
    ("Toronto", "ON", "Canada", "M5V", 43.6532, -79.3832),
    ("Montréal", "QC", "Canada", "H2X", 45.5017, -73.5673),
    ("London", None, "United Kingdom", "EC1", 51.5074, -0.1278),
    ("Paris", None, "France", "750", 48.8566, 2.3522),
    ("München", "BY", "Germany", "803", 48.1351, 11.5820),
    ("Zürich", "ZH", "Switzerland", "80", 47.3769, 8.5417),
    ("Tokyo", None, "Japan", "100", 35.6762, 139.6503),
    ("Sydney", "NSW", "Australia", "20", -33.8688, 151.2093),
    ("São Paulo", "SP", "Brazil", "010", -23.5505, -46.6333),
    ("Bengaluru", "KA", "India", "560", 12.9716, 77.5946),
)  # fmt: skip
STREETS = ("Main St", "Market Street", "Oak Avenue", "Rue de Rivoli", "Hauptstraße",
           "King's Road", "Elm St, Suite 200", "Broadway", "Pine Street", "Calle Mayor")  # fmt: skip
TITLES = ("CEO", "CFO", "CTO", "VP Sales", "VP Marketing", "Director, Operations",
          "Sales Manager", "Account Executive", "Engineer", "Analyst", "Buyer", "SVP, Finance",
          "Head of IT", "Procurement Manager", "Office Manager")  # fmt: skip
PRODUCTS = ("Platform License", "Implementation", "Support Renewal", "Upgrade", "Add-on Seats",
            "Training", "Consulting Block", "Hardware Refresh", "Pilot", "Expansion")  # fmt: skip
NEXT_STEPS = ("Send proposal", "Schedule demo", "Legal review", "Call CFO", "Negotiate terms",
              "Security questionnaire", "Follow up, next week")  # fmt: skip
LANGUAGES = ("English", "English, Spanish", "French", "German", "Japanese", "Portuguese",
             "English, Mandarin")  # fmt: skip
CASE_SUBJECTS = ("Cannot log in", "Invoice question", "Device not powering on", "Slow response",
                 "Feature request", "Shipment damaged", 'Error: "unexpected token"',
                 "Password reset, urgent")  # fmt: skip
TASK_SUBJECTS = ("Call", "Send Letter", "Send Quote", "Follow up", "Email: pricing",
                 "Meeting: QBR", "Other")  # fmt: skip
# Text with every CSV hazard: quotes, commas, LF and CRLF newlines, tabs, non-ASCII, look-alikes
# of null. Salesforce stores no empty strings, so none here.
QUIRKY_TEXT = (
    'Customer said "ship it, now" and hung up.',
    "Line one\nLine two\nLine three",
    "Windows line\r\nendings here",
    "Commas, commas, everywhere, here",
    "Ünïcödé: naïve café, 日本語, emoji 🚀",
    '""',
    "Tab\tseparated\tvalues",
    "NULL",
    "   leading and trailing spaces   ",
    "Back\\slash and 'single' quotes",
    "Renewal discussed; budget approved.",
    "Key account. Handle with care.",
)  # fmt: skip
