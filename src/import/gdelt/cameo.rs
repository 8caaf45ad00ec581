//! CAMEO event codes → PLOVER event type, mode and contexts.
//!
//! After PLOVER's published crosswalk, `CAMEO2PLOVER-2021.txt` in
//! <https://github.com/openeventdata/PLOVER> (CC BY-NC-SA 4.0, Halterman, Schrodt and others).
//! Where this table and the crosswalk differ, on purpose:
//!
//! - **CAMEO 01 (public statements)** is not in the crosswalk: PLOVER codes no event for a
//!   statement without a target. Such rows have no type and are skipped, counted.
//! - **CAMEO 02 (appeal)** is not in the crosswalk either. PLOVER's REQUEST ("ask for
//!   something") covers CAMEO's appeals as it covers its demands, so 02x maps to REQUEST with
//!   mode `appeal`, the contexts following the matching demand (10x).
//! - **CAMEO 10 (demand)** is `DEMAND` in the 2021 crosswalk, the name the type had before
//!   PLOVER renamed it REQUEST; this table writes REQUEST.
//! - The crosswalk's contexts with two values (`crime; corruption`) become two contexts; a
//!   mode or context the crosswalk leaves blank is none here.
//!
//! A code not in the table falls back to its base code (three digits), then its root (two):
//! GDELT gives all three on every row.

use crate::domain::EventType::{self, *};

/// What one CAMEO code becomes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapping {
    pub cameo: &'static str,
    pub event_type: EventType,
    /// PLOVER mode, empty for none.
    pub mode: &'static str,
    /// PLOVER contexts, comma-separated, empty for none.
    pub contexts: &'static str,
    /// CAMEO's name for the code.
    pub description: &'static str,
}

const fn m(
    cameo: &'static str,
    event_type: EventType,
    mode: &'static str,
    contexts: &'static str,
    description: &'static str,
) -> Mapping {
    Mapping {
        cameo,
        event_type,
        mode,
        contexts,
        description,
    }
}

impl Mapping {
    pub fn contexts(&self) -> impl Iterator<Item = &'static str> {
        self.contexts
            .split(',')
            .filter(|context| !context.is_empty())
    }
}

/// The mapping of a row's event: its full code, else its base code, else its root code.
/// `None` for codes PLOVER has no type for (CAMEO 01) and for codes CAMEO does not define.
pub fn lookup(code: &str, base: &str, root: &str) -> Option<&'static Mapping> {
    [code, base, root]
        .into_iter()
        .filter(|candidate| !candidate.is_empty())
        .find_map(|candidate| TABLE.iter().find(|mapping| mapping.cameo == candidate))
}

/// Every CAMEO code with a PLOVER type, ordered by code.
#[rustfmt::skip]
pub static TABLE: &[Mapping] = &[
    // 02: appeal (not in the crosswalk; see the module's note).
    m("02", Request, "appeal", "", "Make an appeal or request"),
    m("020", Request, "appeal", "", "Make an appeal or request"),
    m("021", Request, "appeal", "", "Appeal for material cooperation"),
    m("0211", Request, "appeal", "economic", "Appeal for economic cooperation"),
    m("0212", Request, "appeal", "military", "Appeal for military cooperation"),
    m("0213", Request, "appeal", "legal", "Appeal for judicial cooperation"),
    m("0214", Request, "appeal", "intelligence", "Appeal for intelligence"),
    m("022", Request, "appeal", "diplomatic", "Appeal for diplomatic cooperation"),
    m("023", Request, "appeal", "", "Appeal for aid"),
    m("0231", Request, "appeal", "economic", "Appeal for economic aid"),
    m("0232", Request, "appeal", "military", "Appeal for military aid"),
    m("0233", Request, "appeal", "humanitarian", "Appeal for humanitarian aid"),
    m("0234", Request, "appeal", "peacekeeping", "Appeal for military protection or peacekeeping"),
    m("024", Request, "appeal", "political_institutions", "Appeal for political reform"),
    m("0241", Request, "appeal", "executive", "Appeal for change in leadership"),
    m("0242", Request, "appeal", "executive", "Appeal for policy change"),
    m("0243", Request, "appeal", "rights_freedoms", "Appeal for rights"),
    m("0244", Request, "appeal", "political_institutions", "Appeal for change in institutions, regime"),
    m("025", Request, "appeal", "legal", "Appeal to yield"),
    m("0251", Request, "appeal", "legal", "Appeal for easing of administrative sanctions"),
    m("0252", Request, "appeal", "legal", "Appeal for easing of popular dissent"),
    m("0253", Request, "appeal", "legal", "Appeal for release of persons or property"),
    m("0254", Request, "appeal", "economic", "Appeal for easing of economic sanctions, boycott, or embargo"),
    m("0255", Request, "appeal", "diplomatic", "Appeal to allow international involvement (non-mediation)"),
    m("0256", Request, "appeal", "military", "Appeal for de-escalation of military engagement"),
    m("026", Request, "appeal", "diplomatic", "Appeal to others to meet or negotiate"),
    m("027", Request, "appeal", "diplomatic", "Appeal to others to settle dispute"),
    m("028", Request, "appeal", "diplomatic", "Appeal to others to engage in or accept mediation"),
    // 03: express intent to cooperate.
    m("03", Agree, "", "diplomatic", "Express intent to cooperate"),
    m("030", Agree, "", "diplomatic", "Express intent to cooperate"),
    m("031", Agree, "", "diplomatic", "Express intent to engage in material cooperation"),
    m("0311", Agree, "", "economic", "Express intent to cooperate economically"),
    m("0312", Agree, "", "military", "Express intent to cooperate militarily"),
    m("0313", Agree, "", "legal", "Express intent to cooperate on judicial matters"),
    m("0314", Agree, "", "intelligence", "Express intent to cooperate on intelligence"),
    m("032", Agree, "", "diplomatic", "Express intent to provide diplomatic cooperation"),
    m("033", Agree, "", "diplomatic", "Express intent to provide material aid"),
    m("0331", Agree, "", "economic", "Express intent to provide economic aid"),
    m("0332", Agree, "", "military", "Express intent to provide military aid"),
    m("0333", Agree, "", "diplomatic", "Express intent to provide humanitarian aid"),
    m("0334", Agree, "", "peacekeeping", "Express intent to provide military protection or peacekeeping"),
    m("034", Agree, "", "political_institutions", "Express intent to institute political reform"),
    m("0341", Agree, "", "political_institutions", "Express intent to change leadership"),
    m("0342", Agree, "", "executive", "Express intent to change policy"),
    m("0343", Agree, "", "rights_freedoms", "Express intent to provide rights"),
    m("0344", Agree, "", "political_institutions", "Express intent to change institutions, regime"),
    m("035", Agree, "", "", "Express intent to yield"),
    m("0351", Agree, "", "rights_freedoms", "Express intent to ease administrative sanctions"),
    m("0352", Agree, "", "", "Express intent to ease popular dissent"),
    m("0353", Agree, "", "rights_freedoms", "Express intent to release persons or property"),
    m("0354", Agree, "", "economic", "Express intent to ease economic sanctions, boycott, or embargo"),
    m("0355", Agree, "", "diplomatic", "Express intent to allow international involvement (non-mediation)"),
    m("0356", Agree, "", "military", "Express intent to de-escalate military engagement"),
    m("036", Agree, "", "diplomatic", "Express intent to meet or negotiate"),
    m("037", Agree, "", "diplomatic", "Express intent to settle dispute"),
    m("038", Agree, "", "diplomatic", "Express intent to accept mediation"),
    m("039", Agree, "", "diplomatic", "Express intent to mediate"),
    // 04: consult.
    m("04", Consult, "", "", "Consult"),
    m("040", Consult, "", "", "Consult"),
    m("041", Consult, "phone", "", "Discuss by telephone"),
    m("042", Consult, "visit", "", "Make a visit"),
    m("043", Consult, "host", "", "Host a visit"),
    m("044", Consult, "third-party", "", "Meet at a third location"),
    m("045", Consult, "", "diplomatic", "Mediate"),
    m("046", Consult, "", "diplomatic", "Engage in negotiation"),
    // 05: engage in diplomatic cooperation.
    m("05", Support, "", "diplomatic", "Engage in diplomatic cooperation"),
    m("050", Support, "", "diplomatic", "Engage in diplomatic cooperation"),
    m("051", Support, "", "diplomatic", "Praise or endorse"),
    m("052", Support, "", "diplomatic", "Defend verbally"),
    m("053", Support, "", "diplomatic", "Rally support on behalf of"),
    m("054", Support, "", "diplomatic", "Grant diplomatic recognition"),
    m("055", Support, "", "diplomatic", "Apologize"),
    m("056", Support, "", "diplomatic", "Forgive"),
    m("057", Support, "", "diplomatic", "Sign formal agreement"),
    // 06: engage in material cooperation.
    m("06", Cooperate, "", "", "Engage in material cooperation"),
    m("060", Cooperate, "", "", "Engage in material cooperation"),
    m("061", Cooperate, "", "economic", "Cooperate economically"),
    m("062", Cooperate, "", "military", "Cooperate militarily"),
    m("063", Cooperate, "", "legal", "Engage in judicial cooperation"),
    m("064", Cooperate, "", "intelligence", "Share intelligence or information"),
    // 07: provide aid.
    m("07", Aid, "", "", "Provide aid"),
    m("070", Aid, "", "", "Provide aid"),
    m("071", Aid, "", "economic", "Provide economic aid"),
    m("072", Aid, "", "military", "Provide military aid"),
    m("073", Aid, "", "humanitarian", "Provide humanitarian aid"),
    m("074", Aid, "", "peacekeeping", "Provide military protection or peacekeeping"),
    m("075", Aid, "", "asylum", "Grant asylum"),
    // 08: yield — CONCEDE for the political concessions, RETREAT for releases, easing and
    // de-escalation, as the crosswalk splits the root.
    m("08", Concede, "", "", "Yield"),
    m("080", Concede, "", "", "Yield"),
    m("081", Concede, "", "legal", "Ease administrative sanctions"),
    m("0811", Concede, "", "democracy", "Ease restrictions on political freedoms"),
    m("0812", Concede, "", "democracy", "Ease ban on political parties or politicians"),
    m("0813", Retreat, "ease", "legal", "Ease curfew"),
    m("0814", Retreat, "ease", "legal", "Ease state of emergency or martial law"),
    m("082", Concede, "", "democracy", "Ease political dissent"),
    m("083", Concede, "", "political_institutions", "Accede to requests or demands for political reform"),
    m("0831", Concede, "", "political_institutions", "Accede to demands for change in leadership"),
    m("0832", Concede, "", "executive", "Accede to demands for change in policy"),
    m("0833", Concede, "", "rights_freedoms", "Accede to demands for rights"),
    m("0834", Concede, "", "political_institutions", "Accede to demands for change in institutions, regime"),
    m("084", Retreat, "", "", "Return, release"),
    m("0841", Retreat, "release", "legal", "Return, release person(s)"),
    m("0842", Retreat, "return", "legal", "Return, release property"),
    m("085", Retreat, "ease", "economic", "Ease economic sanctions, boycott, embargo"),
    m("086", Retreat, "access", "diplomatic", "Allow international involvement"),
    m("0861", Retreat, "access", "peacekeeping", "Receive deployment of peacekeepers"),
    m("0862", Retreat, "access", "diplomatic", "Receive inspectors"),
    m("0863", Retreat, "access", "humanitarian", "Allow delivery of humanitarian aid"),
    m("087", Retreat, "disarm", "military", "De-escalate military engagement"),
    m("0871", Retreat, "ceasefire", "military", "Declare truce, ceasefire"),
    m("0872", Retreat, "withdraw", "military", "Ease military blockade"),
    m("0873", Retreat, "disarm", "military", "Demobilize armed forces"),
    m("0874", Retreat, "disarm", "military", "Retreat or surrender militarily"),
    // 09: investigate.
    m("09", Accuse, "investigate", "", "Investigate"),
    m("090", Accuse, "investigate", "", "Investigate"),
    m("091", Accuse, "investigate", "crime,corruption", "Investigate crime, corruption"),
    m("092", Accuse, "investigate", "human_rights", "Investigate human rights abuses"),
    m("093", Accuse, "investigate", "military", "Investigate military action"),
    m("094", Accuse, "investigate", "military,legal", "Investigate war crimes"),
    // 10: demand (DEMAND in the crosswalk, REQUEST in PLOVER today).
    m("10", Request, "", "", "Demand"),
    m("100", Request, "", "", "Demand"),
    m("101", Request, "assist", "", "Demand material cooperation"),
    m("1011", Request, "assist", "economic", "Demand economic cooperation"),
    m("1012", Request, "assist", "military", "Demand military cooperation"),
    m("1013", Request, "assist", "legal", "Demand judicial cooperation"),
    m("1014", Request, "assist", "intelligence", "Demand intelligence cooperation"),
    m("102", Request, "assist", "diplomatic", "Demand diplomatic cooperation"),
    m("103", Request, "assist", "", "Demand aid"),
    m("1031", Request, "assist", "economic", "Demand economic aid"),
    m("1032", Request, "assist", "military", "Demand military aid"),
    m("1033", Request, "assist", "humanitarian", "Demand humanitarian aid"),
    m("1034", Request, "assist", "peacekeeping", "Demand military protection or peacekeeping"),
    m("104", Request, "change", "political_institutions", "Demand political reform"),
    m("1041", Request, "change", "executive", "Demand change in leadership"),
    m("1042", Request, "change", "executive", "Demand policy change"),
    m("1043", Request, "change", "rights_freedoms", "Demand rights"),
    m("1044", Request, "change", "political_institutions", "Demand change in institutions, regime"),
    m("105", Request, "change", "legal", "Demand that target yields"),
    m("1051", Request, "yield", "legal", "Demand easing of administrative sanctions"),
    m("1052", Request, "yield", "legal", "Demand easing of popular dissent"),
    m("1053", Request, "yield", "legal", "Demand release of persons or property"),
    m("1054", Request, "yield", "economic", "Demand easing of economic sanctions, boycott, or embargo"),
    m("1055", Request, "yield", "diplomatic", "Demand that target allows international involvement (non-mediation)"),
    m("1056", Request, "yield", "military", "Demand de-escalation of military engagement"),
    m("106", Request, "meet", "diplomatic", "Demand meeting, negotiation"),
    m("107", Request, "meet", "diplomatic", "Demand settling of dispute"),
    m("108", Request, "meet", "diplomatic", "Demand mediation"),
    // 11: disapprove.
    m("11", Accuse, "disapprove", "", "Disapprove"),
    m("110", Accuse, "disapprove", "", "Disapprove"),
    m("111", Accuse, "disapprove", "", "Criticize or denounce"),
    m("112", Accuse, "disapprove", "", "Accuse"),
    m("1121", Accuse, "disapprove", "crime,corruption", "Accuse of crime, corruption"),
    m("1122", Accuse, "disapprove", "human_rights", "Accuse of human rights abuses"),
    m("1123", Accuse, "disapprove", "military", "Accuse of aggression"),
    m("1124", Accuse, "disapprove", "military,legal", "Accuse of war crimes"),
    m("1125", Accuse, "disapprove", "legal", "Accuse of espionage, treason"),
    m("113", Accuse, "disapprove", "", "Rally opposition against"),
    m("114", Accuse, "disapprove", "", "Complain officially"),
    m("115", Accuse, "disapprove", "legal", "Bring lawsuit against"),
    m("116", Accuse, "disapprove", "legal", "Find guilty or liable (legally)"),
    // 12: reject.
    m("12", Reject, "", "", "Reject"),
    m("120", Reject, "", "", "Reject"),
    m("121", Reject, "assist", "", "Reject material cooperation"),
    m("1211", Reject, "assist", "economic", "Reject economic cooperation"),
    m("1212", Reject, "assist", "military", "Reject military cooperation"),
    m("1213", Reject, "assist", "legal", "Reject judicial cooperation"),
    m("1214", Reject, "assist", "intelligence", "Reject intelligence cooperation"),
    m("122", Reject, "assist", "", "Reject request or demand for material aid"),
    m("1221", Reject, "assist", "economic", "Reject request for economic aid"),
    m("1222", Reject, "assist", "military", "Reject request for military aid"),
    m("1223", Reject, "assist", "humanitarian", "Reject request for humanitarian aid"),
    m("1224", Reject, "assist", "peacekeeping", "Reject request for military protection or peacekeeping"),
    m("123", Reject, "change", "political_institutions", "Reject request or demand for political reform"),
    m("1231", Reject, "change", "executive", "Reject request for change in leadership"),
    m("1232", Reject, "change", "executive", "Reject request for policy change"),
    m("1233", Reject, "change", "rights_freedoms", "Reject request for rights"),
    m("1234", Reject, "change", "political_institutions", "Reject request for change in institutions, regime"),
    m("124", Reject, "change", "", "Refuse to yield"),
    m("1241", Reject, "change", "legal", "Refuse to ease administrative sanctions"),
    m("1242", Reject, "change", "", "Refuse to ease popular dissent"),
    m("1243", Reject, "yield", "legal", "Refuse to release persons or property"),
    m("1244", Reject, "yield", "economic", "Refuse to ease economic sanctions, boycott, or embargo"),
    m("1245", Reject, "yield", "diplomatic", "Refuse to allow international involvement (non-mediation)"),
    m("1246", Reject, "yield", "military", "Refuse to de-escalate military engagement"),
    m("125", Reject, "meet", "diplomatic", "Reject proposal to meet, discuss, or negotiate"),
    m("126", Reject, "meet", "diplomatic", "Reject mediation"),
    m("127", Reject, "meet", "diplomatic", "Reject plan, agreement to settle dispute"),
    m("128", Reject, "yield", "legal", "Defy norms, law"),
    m("129", Reject, "yield", "diplomatic", "Veto"),
    // 13: threaten.
    m("13", Threaten, "", "", "Threaten"),
    m("130", Threaten, "", "", "Threaten"),
    m("131", Threaten, "", "", "Threaten non-force"),
    m("1311", Threaten, "relations", "", "Threaten to reduce or stop aid"),
    m("1312", Threaten, "restrict", "diplomatic", "Threaten to boycott, embargo, or sanction"),
    m("1313", Threaten, "relations", "diplomatic", "Threaten to reduce or break relations"),
    m("132", Threaten, "ban", "legal", "Threaten with administrative sanctions"),
    m("1321", Threaten, "political", "legal", "Threaten to impose restrictions on freedoms of speech and expression"),
    m("1322", Threaten, "ban", "legal", "Threaten to ban political parties or politicians"),
    m("1323", Threaten, "restrict", "legal", "Threaten to impose curfew"),
    m("1324", Threaten, "restrict", "legal", "Threaten to impose state of emergency or martial law"),
    m("133", Threaten, "relations", "", "Threaten political dissent, protest"),
    m("134", Threaten, "relations", "diplomatic", "Threaten to halt negotiations"),
    m("135", Threaten, "relations", "diplomatic", "Threaten to halt mediation"),
    m("136", Threaten, "expel", "diplomatic", "Threaten to halt international involvement (non-mediation)"),
    m("137", Threaten, "violence", "legal", "Threaten with repression"),
    m("138", Threaten, "violence", "military", "Threaten to use military force"),
    m("1381", Threaten, "restrict", "military", "Threaten blockade"),
    m("1382", Threaten, "territory", "military", "Threaten occupation"),
    m("1383", Threaten, "violence", "military", "Threaten unconventional violence"),
    m("1384", Threaten, "violence", "military", "Threaten conventional attack"),
    m("1385", Threaten, "violence", "cbrn", "Threaten attack with WMD"),
    m("139", Threaten, "relations", "diplomatic", "Give ultimatum"),
    // 14: protest.
    m("14", Protest, "", "", "Protest"),
    m("140", Protest, "", "", "Engage in political dissent"),
    m("141", Protest, "demo", "", "Demonstrate or rally"),
    m("1411", Protest, "demo", "executive", "Demonstrate for leadership change"),
    m("1412", Protest, "demo", "executive", "Demonstrate for policy change"),
    m("1413", Protest, "demo", "rights_freedoms", "Demonstrate for rights"),
    m("1414", Protest, "demo", "political_institutions", "Demonstrate for change in institutions, regime"),
    m("142", Protest, "hunger", "", "Conduct hunger strike"),
    m("1421", Protest, "hunger", "executive", "Conduct hunger strike for leadership change"),
    m("1422", Protest, "hunger", "executive", "Conduct hunger strike for policy change"),
    m("1423", Protest, "hunger", "rights_freedoms", "Conduct hunger strike for rights"),
    m("1424", Protest, "hunger", "political_institutions", "Conduct hunger strike for change in institutions, regime"),
    m("143", Protest, "boycott", "", "Conduct strike or boycott"),
    m("1431", Protest, "boycott", "executive", "Conduct strike or boycott for leadership change"),
    m("1432", Protest, "boycott", "executive", "Conduct strike or boycott for policy change"),
    m("1433", Protest, "boycott", "rights_freedoms", "Conduct strike or boycott for rights"),
    m("1434", Protest, "boycott", "political_institutions", "Conduct strike or boycott for change in institutions, regime"),
    m("144", Protest, "obstruct", "", "Obstruct passage, block"),
    m("1441", Protest, "obstruct", "executive", "Obstruct passage to demand leadership change"),
    m("1442", Protest, "obstruct", "executive", "Obstruct passage to demand policy change"),
    m("1443", Protest, "obstruct", "rights_freedoms", "Obstruct passage to demand rights"),
    m("1444", Protest, "obstruct", "political_institutions", "Obstruct passage to demand change in institutions, regime"),
    m("145", Protest, "riot", "", "Protest violently, riot"),
    m("1451", Protest, "riot", "executive", "Engage in violent protest for leadership change"),
    m("1452", Protest, "riot", "executive", "Engage in violent protest for policy change"),
    m("1453", Protest, "riot", "rights_freedoms", "Engage in violent protest for rights"),
    m("1454", Protest, "riot", "political_institutions", "Engage in violent protest for change in institutions, regime"),
    // 15: exhibit force posture.
    m("15", Mobilize, "", "", "Exhibit force posture"),
    m("150", Mobilize, "", "", "Demonstrate military or police power"),
    m("151", Mobilize, "police", "", "Increase police alert status"),
    m("152", Mobilize, "troops", "military", "Increase military alert status"),
    m("153", Mobilize, "police", "", "Mobilize or increase police power"),
    m("154", Mobilize, "troops", "military", "Mobilize or increase armed forces"),
    // 16: reduce relations.
    m("16", Sanction, "", "", "Reduce relations"),
    m("160", Sanction, "", "", "Reduce relations"),
    m("161", Sanction, "withdraw", "diplomatic", "Reduce or break diplomatic relations"),
    m("162", Sanction, "discontinue", "diplomatic", "Reduce or stop material aid"),
    m("1621", Sanction, "discontinue", "economic", "Reduce or stop economic assistance"),
    m("1622", Sanction, "discontinue", "military", "Reduce or stop military assistance"),
    m("1623", Sanction, "discontinue", "humanitarian", "Reduce or stop humanitarian assistance"),
    m("163", Coerce, "restrict", "diplomatic", "Impose embargo, boycott, or sanctions"),
    m("164", Sanction, "withdraw", "diplomatic", "Halt negotiations"),
    m("165", Sanction, "withdraw", "diplomatic", "Halt mediation"),
    m("166", Sanction, "expel", "diplomatic", "Expel or withdraw"),
    m("1661", Sanction, "expel", "military", "Expel or withdraw peacekeepers"),
    m("1662", Sanction, "expel", "diplomatic", "Expel or withdraw inspectors, observers"),
    m("1663", Sanction, "expel", "diplomatic", "Expel or withdraw aid agencies"),
    // 17: coerce.
    m("17", Coerce, "", "", "Coerce"),
    m("170", Coerce, "", "", "Coerce"),
    m("171", Coerce, "confiscate", "legal", "Seize or damage property"),
    m("1711", Coerce, "confiscate", "legal", "Confiscate property"),
    m("1712", Assault, "destroy", "legal", "Destroy property"),
    m("172", Coerce, "restrict", "legal", "Impose administrative sanctions"),
    m("1721", Coerce, "restrict", "legal", "Impose restrictions on freedoms of speech and expression"),
    m("1722", Coerce, "ban", "legal", "Ban political parties or politicians"),
    m("1723", Coerce, "curfew", "legal", "Impose curfew"),
    m("1724", Coerce, "martial-law", "legal", "Impose state of emergency or martial law"),
    m("173", Coerce, "arrest", "legal", "Arrest, detain, or charge with legal action"),
    m("174", Coerce, "deport", "legal", "Expel or deport individuals"),
    m("175", Assault, "", "military", "Use tactics of violent repression"),
    // 18: assault.
    m("18", Assault, "", "", "Assault"),
    m("180", Assault, "", "", "Use unconventional violence"),
    m("181", Assault, "abduct", "", "Abduct, hijack, or take hostage"),
    m("182", Assault, "beat", "", "Physically assault"),
    m("1821", Assault, "sexual", "", "Sexually assault"),
    m("1822", Assault, "torture", "", "Torture"),
    m("1823", Assault, "", "", "Kill by physical assault"),
    m("183", Assault, "suicide-attack", "", "Conduct suicide, car, or other non-military bombing"),
    m("1831", Assault, "suicide-attack", "", "Carry out suicide bombing"),
    m("1832", Assault, "explosives", "", "Carry out vehicular bombing"),
    m("1833", Assault, "explosives", "", "Carry out roadside bombing"),
    m("184", Assault, "abduct", "", "Use as human shield"),
    m("185", Assault, "assassinate", "", "Attempt to assassinate"),
    m("186", Assault, "assassinate", "", "Assassinate"),
    // 19: fight.
    m("19", Assault, "", "military", "Fight"),
    m("190", Assault, "", "military", "Use conventional military force"),
    m("191", Coerce, "restrict", "military", "Impose blockade, restrict movement"),
    m("192", Coerce, "confiscate", "military", "Occupy territory"),
    m("193", Assault, "firearms", "military", "Fight with small arms and light weapons"),
    m("194", Assault, "heavy-weapons", "military", "Fight with artillery and tanks"),
    m("195", Assault, "heavy-weapons", "military", "Employ aerial weapons"),
    m("196", Assault, "", "legal,military", "Violate ceasefire"),
    // 20: use unconventional mass violence.
    m("20", Assault, "unconventional", "military", "Use unconventional mass violence"),
    m("200", Assault, "unconventional", "military", "Use unconventional mass violence"),
    m("201", Assault, "cleansing", "legal", "Engage in mass expulsion"),
    m("202", Assault, "cleansing", "military", "Engage in mass killings"),
    m("203", Assault, "cleansing", "military", "Engage in ethnic cleansing"),
    m("204", Assault, "unconventional", "cbrn", "Use weapons of mass destruction"),
    m("2041", Assault, "unconventional", "cbrn", "Use chemical, biological, or radiological weapons"),
    m("2042", Assault, "unconventional", "cbrn", "Detonate nuclear weapons"),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::values::parse_keyword;

    #[test]
    fn each_code_once() {
        let mut seen = HashSet::new();
        for mapping in TABLE {
            assert!(seen.insert(mapping.cameo), "{} twice", mapping.cameo);
            assert!(
                (2..=4).contains(&mapping.cameo.len())
                    && mapping.cameo.bytes().all(|b| b.is_ascii_digit()),
                "{} is not a CAMEO code",
                mapping.cameo
            );
        }
    }

    #[test]
    fn modes_and_contexts_are_keywords_the_api_accepts() {
        for mapping in TABLE {
            if !mapping.mode.is_empty() {
                parse_keyword(mapping.mode).unwrap();
            }
            for context in mapping.contexts() {
                parse_keyword(context).unwrap();
            }
            assert!(!mapping.description.is_empty());
        }
    }

    #[test]
    fn every_root_from_02_to_20_has_a_row_and_01_has_none() {
        for root in 2..=20 {
            let root = format!("{root:02}");
            assert!(lookup("", "", &root).is_some(), "root {root}");
        }
        assert_eq!(lookup("010", "010", "01"), None);
        assert_eq!(lookup("0111", "011", "01"), None);
    }

    #[test]
    fn the_crosswalk_s_splits_and_renames_hold() {
        let type_of = |code: &str| lookup(code, "", "").unwrap().event_type;
        // Root 08 is split between CONCEDE and RETREAT, as the crosswalk splits it.
        assert_eq!(type_of("081"), Concede);
        assert_eq!(type_of("0813"), Retreat);
        assert_eq!(type_of("0871"), Retreat);
        // DEMAND is PLOVER's REQUEST; appeals are requests too.
        assert_eq!(type_of("1041"), Request);
        assert_eq!(type_of("0233"), Request);
        // Sanctions are coercion, blockades and occupation too; destroying property and
        // violent repression are assaults.
        assert_eq!(type_of("163"), Coerce);
        assert_eq!(type_of("191"), Coerce);
        assert_eq!(type_of("1712"), Assault);
        assert_eq!(type_of("175"), Assault);
        // Investigation and disapproval are accusations, told apart by mode.
        let investigate = lookup("092", "", "").unwrap();
        assert_eq!(
            (investigate.event_type, investigate.mode),
            (Accuse, "investigate")
        );
        assert_eq!(investigate.contexts().collect::<Vec<_>>(), ["human_rights"]);
        let visit = lookup("042", "", "").unwrap();
        assert_eq!((visit.event_type, visit.mode), (Consult, "visit"));
    }

    #[test]
    fn unknown_codes_fall_back_to_base_then_root() {
        // 0429 is no CAMEO code; its base 042 is.
        assert_eq!(lookup("0429", "042", "04").unwrap().cameo, "042");
        assert_eq!(lookup("0499", "049", "04").unwrap().cameo, "04");
        assert_eq!(lookup("9999", "999", "99"), None);
    }
}
