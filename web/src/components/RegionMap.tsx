import { Card, Space, Tag, Typography } from 'antd';
import { MapChart } from 'echarts/charts';
import { VisualMapComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { useCallback, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { useLoader } from '../hooks.ts';
import { type MapUnit, mapRegionOf } from '../regions.ts';
import { Chart } from './Chart.tsx';
import { ErrorAlert } from './common.tsx';

echarts.use([MapChart, VisualMapComponent]);

/**
 * A choropleth of scores by GB/T 2260 division (issue #23): the region's child divisions from
 * GET /v1/regions/{code}/map — the bureau's boundaries, or a schematic of hexagons, which the card
 * then says in words — coloured by score; a division without a score is grey, marked no data.
 */

interface DivisionMap {
  type: 'FeatureCollection';
  region: { code: string; name: string };
  schematic: boolean;
  unmapped: string[];
  features: Array<{ type: 'Feature'; properties: { code: string; name: string }; geometry: unknown }>;
}

const NO_DATA = '#d9d9d9';

export function RegionMap({ units, testId }: { units: readonly MapUnit[]; testId?: string }) {
  const region = mapRegionOf(units);
  const load = useCallback(
    (signal: AbortSignal) => api.get<DivisionMap>(`/v1/regions/${region}/map`, undefined, signal),
    [region],
  );
  const map = useLoader(region ? load : null);
  if (!region) return null;
  return (
    <RegionMapCard
      map={map.data ?? null}
      error={map.error}
      onRetry={map.reload}
      units={units}
      testId={testId}
    />
  );
}

function RegionMapCard({
  map,
  error,
  onRetry,
  units,
  testId,
}: {
  map: DivisionMap | null;
  error: unknown;
  onRetry: () => void;
  units: readonly MapUnit[];
  testId: string | undefined;
}) {
  const { t } = useTranslation();
  const option = useMemo(() => {
    if (!map) return null;
    // Registered under the region and the kind of map, so a schematic never stands in for
    // boundaries registered earlier (registering a name again replaces it).
    const name = `shutong-${map.region.code}-${map.schematic ? 'schematic' : 'boundaries'}`;
    echarts.registerMap(name, map as unknown as Parameters<typeof echarts.registerMap>[1]);
    const byCode = new Map(units.map((u) => [u.unitCode, u]));
    const divisionName = new Map(map.features.map((f) => [f.properties.code, f.properties.name]));
    const data = map.features.map(({ properties: { code } }) => {
      const unit = byCode.get(code);
      const score = unit?.score ?? null;
      return score === null
        ? { name: code, value: Number.NaN, itemStyle: { areaColor: NO_DATA } }
        : { name: code, value: score, rank: unit?.rank ?? null };
    });
    const scoreText = (value: unknown) =>
      typeof value === 'number' && !Number.isNaN(value)
        ? value.toFixed(4)
        : t('indicators.evaluation.map.noData');
    return {
      tooltip: {
        trigger: 'item',
        formatter: (p: { name: string; value: unknown; data?: { rank?: number | null } }) => {
          const shown = echarts.format.encodeHTML(divisionName.get(p.name) ?? p.name);
          if (typeof p.value !== 'number' || Number.isNaN(p.value))
            return `${shown}（${p.name}）<br/>${t('indicators.evaluation.map.noData')}`;
          return t('indicators.evaluation.map.tooltip', {
            name: shown,
            code: p.name,
            score: scoreText(p.value),
            rank: p.data?.rank ?? '—',
            interpolation: { escapeValue: false },
          });
        },
      },
      visualMap: {
        min: 0,
        max: 1,
        calculable: false,
        orient: 'horizontal',
        left: 'center',
        bottom: 0,
        itemHeight: 120,
        text: ['1', '0'],
        inRange: { color: ['#e6f4ff', '#69b1ff', '#0958d9'] },
        // NaN is "no score": grey, like the divisions the index does not cover.
        outOfRange: { color: NO_DATA },
      },
      series: [
        {
          type: 'map',
          map: name,
          nameProperty: 'code',
          // Boundaries are longitude and latitude (squeezed as at mid-latitudes); hexagons are not.
          aspectScale: map.schematic ? 1 : 0.75,
          layoutCenter: ['50%', '45%'],
          layoutSize: '85%',
          roam: false,
          selectedMode: false,
          itemStyle: { areaColor: NO_DATA, borderColor: '#ffffff', borderWidth: 1 },
          emphasis: { label: { show: true }, itemStyle: { areaColor: '#ffd666' } },
          label: {
            show: true,
            fontSize: 11,
            // Readable on the palest and the darkest blue alike.
            textBorderColor: '#ffffff',
            textBorderWidth: 2,
            formatter: (p: { name: string; value: unknown }) =>
              `${divisionName.get(p.name) ?? p.name}\n${scoreText(p.value)}`,
          },
          data,
        },
      ],
    };
  }, [map, units, t]);
  const title = t('indicators.evaluation.map.title');
  return (
    <Card
      size="small"
      title={map ? `${title} · ${map.region.name}` : title}
      data-testid={testId}
      data-schematic={map ? String(map.schematic) : undefined}
      extra={map?.schematic ? <Tag color="warning">{t('indicators.evaluation.map.schematic')}</Tag> : null}
    >
      <ErrorAlert error={error} onRetry={onRetry} />
      {option && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Chart option={option} label={title} height={380} renderer="svg" />
          {map!.unmapped.length > 0 && (
            <Typography.Text type="secondary">
              {t('indicators.evaluation.map.unmapped', { n: map!.unmapped.length })}
            </Typography.Text>
          )}
        </Space>
      )}
    </Card>
  );
}
