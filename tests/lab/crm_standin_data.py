"""The records the CRM stand-in holds (a stand-in for the vendors' cloud APIs, see
crm_standin.py): the same people for every vendor, in each vendor's field names and id
shapes."""

# The people every vendor holds: (name, first, last, title, company, {label: stored}, email)
PEOPLE = [
    ("Jane Doe", "Jane", "Doe", "Buyer", "Acme Corp", {"work": "(212) 555-0100"}, "jane.doe@acme.example"),
    ("John Roe", "John", "Roe", None, "Roe Ltd", {"mobile": "+12125550111"}, "john.roe@roe.example"),
    ("Joan Roe", "Joan", "Roe", None, "Roe Ltd", {"work": "+1 212-555-0111"}, "joan.roe@roe.example"),
    ("Carl Caller", "Carl", "Caller", None, None, {"work": "2001"}, "carl@lab.example"),
] + [
    (f"Sync Contact {n:02}", "Sync", f"Contact {n:02}", None, None, {"work": f"+1 646-555-01{n:02}"},
     f"sync{n:02}@sync.example")
    for n in range(1, 21)
]

# Each vendor's field names for the labels.
PHONE_FIELDS = {
    "salesforce": {"work": "Phone", "mobile": "MobilePhone", "home": "HomePhone", "other": "OtherPhone"},
    "sugar": {"work": "phone_work", "mobile": "phone_mobile", "home": "phone_home", "other": "phone_other"},
    "zoho": {"work": "Phone", "mobile": "Mobile", "home": "Home_Phone", "other": "Other_Phone"},
    "dynamics": {"work": "telephone1", "mobile": "mobilephone", "home": "telephone2"},
    "bullhorn": {"work": "phone", "mobile": "mobile", "other": "phone2"},
    "zendesk": {"work": "phone", "mobile": "phone"},
}


def record(vendor, i, p):
    name, first, last, title, company, phones, email = p
    n = i + 1
    f = PHONE_FIELDS[vendor]
    r = {f[label]: None for label in f}
    for label, stored in phones.items():
        r[f[label]] = stored
    if vendor == "salesforce":
        r.update(Id=f"003LAB{n:012}", Name=name, Email=email, Title=title)
    elif vendor == "sugar":
        r.update(id=f"5a1e{n:04}-0000-4000-8000-{n:012}", name=name, first_name=first, last_name=last,
                 email1=email, title=title, account_name=company, date_modified="2026-11-30T10:00:00+00:00")
    elif vendor == "zoho":
        r.update(id=str(3652397000000649000 + n), Full_Name=name, First_Name=first, Last_Name=last, Email=email,
                 Title=title, Account_Name={"name": company, "id": "3652397000000624046"} if company else None,
                 Modified_Time="2026-11-30T10:00:00+00:00")
    elif vendor == "dynamics":
        r.update(contactid=f"49b0be2e-d01c-ed11-b83e-{n:012}", fullname=name, firstname=first, lastname=last,
                 emailaddress1=email, jobtitle=title)
    elif vendor == "bullhorn":
        r.update(id=5059100 + n, firstName=first, lastName=last, name=name, email=email, occupation=title,
                 phone3=None, clientCorporation={"id": 123, "name": company} if company else None)
    else:
        r.update(id=35400 + n, name=name, email=email, role="end-user", organization_id=None)
    return r
