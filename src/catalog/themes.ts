import type { Category } from '../core/tables.ts';

/**
 * Catalog categories and themes, after the government information resource catalog guidelines:
 * base resources (population, legal persons, …), theme resources (health, social security, …)
 * and department resources. The two-digit codes enter the resource code.
 */
export interface Theme {
  id: string;
  code: string;
  category: Category;
  zh: string;
  en: string;
}

export const THEMES: readonly Theme[] = [
  { id: 'population', code: '01', category: 'base', zh: '人口', en: 'Population' },
  { id: 'legal_person', code: '02', category: 'base', zh: '法人', en: 'Legal persons' },
  {
    id: 'natural_resources',
    code: '03',
    category: 'base',
    zh: '自然资源和空间地理',
    en: 'Natural resources and geospatial',
  },
  { id: 'macro_economy', code: '04', category: 'base', zh: '宏观经济', en: 'Macro-economy' },
  { id: 'e_licence', code: '05', category: 'base', zh: '电子证照', en: 'Electronic licences' },
  { id: 'health', code: '11', category: 'theme', zh: '健康医疗', en: 'Health and medical care' },
  { id: 'social_security', code: '12', category: 'theme', zh: '社会保障', en: 'Social security' },
  { id: 'credit', code: '13', category: 'theme', zh: '信用服务', en: 'Credit services' },
  { id: 'ecology', code: '14', category: 'theme', zh: '生态环境', en: 'Ecology and environment' },
  { id: 'transport', code: '15', category: 'theme', zh: '交通运输', en: 'Transport' },
  { id: 'education', code: '16', category: 'theme', zh: '教育文化', en: 'Education and culture' },
  { id: 'emergency', code: '17', category: 'theme', zh: '应急管理', en: 'Emergency management' },
  { id: 'market', code: '18', category: 'theme', zh: '市场监管', en: 'Market regulation' },
  { id: 'urban_rural', code: '19', category: 'theme', zh: '城乡建设', en: 'Urban and rural construction' },
  { id: 'finance_tax', code: '20', category: 'theme', zh: '财税金融', en: 'Finance and taxation' },
  { id: 'civil_affairs', code: '21', category: 'theme', zh: '民政服务', en: 'Civil affairs' },
  { id: 'statistics', code: '22', category: 'theme', zh: '统计', en: 'Statistics' },
  { id: 'department', code: '90', category: 'department', zh: '部门资源', en: 'Department resources' },
];

export const THEME_IDS = THEMES.map((t) => t.id);

export function findTheme(id: string): Theme | undefined {
  return THEMES.find((t) => t.id === id);
}

export const UPDATE_CYCLES = [
  'realtime',
  'daily',
  'weekly',
  'monthly',
  'quarterly',
  'half_yearly',
  'yearly',
  'irregular',
] as const;
