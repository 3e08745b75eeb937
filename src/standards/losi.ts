/**
 * UN Local Online Service Index (LOSI), 2022 edition, as data: its five criteria and its 86 yes/no
 * indicators, for installing LOSI as an evaluation index over the indicator dictionary
 * (src/indicators/templates.ts).
 *
 * Sources (read on stored copies, no live access):
 * - Criteria and counts — "The 2022 LOSI comprises 86 indicators relating to five criteria:
 *   institutional framework (8), content provision (25), services provision (18), participation and
 *   engagement (17), and technology (18)":
 *   https://publicadministration.un.org/egovkb/en-us/About/E-Government-at-Local-Level/Local-Online-Service-Index-LOSI
 * - Scoring — each of the 86 indicators is a binary question, 1 when the feature is found on the city
 *   portal, 0 when absent or not found (UN E-Government Survey 2022, Annex A.9):
 *   https://fliphtml5.com/pgprh/luhf/E-Government_Survey_2022%3A_Digital_Government_and_Sustainable_Development/233
 * - Aggregation — cities "meet more than 75 per cent of the indicators" to be in the very high LOSI
 *   group (Survey 2022, chapter 3, p. 90): the LOSI value is read as the share of the 86 features
 *   present, every indicator weighing the same (not every criterion). The annex's formula itself
 *   was cut off in the copy read, so this is the survey's own threshold sentence, not its formula:
 *   https://fliphtml5.com/gnel/edfw/Report_without_annexes/121
 * - Names of the 17 participation and engagement indicators — Figure 3.10, "Implementation of
 *   participation and engagement indicators in city portals" (Survey 2022, chapter 3, p. 99), in
 *   the figure's order (least to most often met):
 *   https://fliphtml5.com/gnel/edfw/Report_without_annexes/130/
 *
 * The names of the other 69 indicators (institutional framework, content provision, services
 * provision, technology) were not found in the copies available offline (the annex questionnaire
 * table and figures 3.6–3.9 and 3.11 did not come back from the searches). They are not invented:
 * those slots carry `named: false` and a numbered placeholder saying so, to be renamed from the
 * LOSI 2022 questionnaire (`PATCH /v1/indicators/{code}` keeps the code and makes a new version).
 * The codes (`LOSI-PE-01` …) are Shutong's, not the survey's.
 */

export type LosiCriterionCode = 'IF' | 'CP' | 'SP' | 'PE' | 'TE';

export interface LosiCriterion {
  code: LosiCriterionCode;
  nameEn: string;
  nameZh: string;
  /** Number of indicators in the criterion (publicadministration.un.org LOSI page). */
  count: number;
}

export interface LosiIndicator {
  code: string;
  criterion: LosiCriterionCode;
  nameEn: string;
  nameZh: string;
  /** True when the name was read in the survey; false for a numbered placeholder. */
  named: boolean;
}

export const LOSI_2022_CRITERIA: readonly LosiCriterion[] = [
  { code: 'IF', nameEn: 'Institutional framework', nameZh: '机构框架', count: 8 },
  { code: 'CP', nameEn: 'Content provision', nameZh: '内容提供', count: 25 },
  { code: 'SP', nameEn: 'Services provision', nameZh: '服务提供', count: 18 },
  { code: 'PE', nameEn: 'Participation and engagement', nameZh: '参与和互动', count: 17 },
  { code: 'TE', nameEn: 'Technology', nameZh: '技术', count: 18 },
];

/** Figure 3.10 of the 2022 Survey, in its order; Chinese names are our translation. */
const PARTICIPATION: ReadonlyArray<[string, string]> = [
  ['E-voting', '电子投票'],
  ['Real-time communication', '实时沟通'],
  ['Reporting any form of discrimination', '歧视举报'],
  ['Feedback about consultation processes', '征求意见过程的反馈'],
  ['Participatory budgeting', '参与式预算'],
  ['Municipality responsiveness to e-mails', '市政府邮件回复及时性'],
  ['Quality of e-mail responses', '邮件答复质量'],
  ['Participatory land-use planning', '参与式土地利用规划'],
  ['Announcement of upcoming e-participation activities', '电子参与活动预告'],
  ['Open data metadata', '开放数据元数据'],
  ['Open data provision', '开放数据提供'],
  ['Online deliberation processes', '在线审议程序'],
  ['Reporting incidents in public spaces', '公共空间事件报告'],
  ['Information on public meetings of the municipal council', '市议会公开会议信息'],
  ['Budget-related information', '预算相关信息'],
  ['Feedback and complaint submission', '意见与投诉提交'],
  ['Social networking features', '社交网络功能'],
];

const pad = (n: number) => String(n).padStart(2, '0');

function placeholders(criterion: LosiCriterion): LosiIndicator[] {
  return Array.from({ length: criterion.count }, (_, i) => ({
    code: `LOSI-${criterion.code}-${pad(i + 1)}`,
    criterion: criterion.code,
    nameEn: `${criterion.nameEn}, feature ${i + 1} of ${criterion.count} (survey wording not on file)`,
    nameZh: `${criterion.nameZh}第${i + 1}项（共${criterion.count}项，原文措辞待核）`,
    named: false,
  }));
}

export const LOSI_2022_INDICATORS: readonly LosiIndicator[] = LOSI_2022_CRITERIA.flatMap((criterion) =>
  criterion.code === 'PE'
    ? PARTICIPATION.map(([nameEn, nameZh], i) => ({
        code: `LOSI-PE-${pad(i + 1)}`,
        criterion: criterion.code,
        nameEn,
        nameZh,
        named: true,
      }))
    : placeholders(criterion),
);
