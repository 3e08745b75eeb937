import { BarChart, LineChart, PieChart, RadarChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  RadarComponent,
  TitleComponent,
  TooltipComponent,
} from 'echarts/components';
import type { EChartsCoreOption } from 'echarts/core';
import * as echarts from 'echarts/core';
import { CanvasRenderer, SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';

echarts.use([
  BarChart,
  LineChart,
  PieChart,
  RadarChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  RadarComponent,
  TitleComponent,
  TooltipComponent,
  CanvasRenderer,
  SVGRenderer,
]);

/**
 * An ECharts chart that follows its container's width. Charts are pictures to a screen reader,
 * so each carries a label, and ECharts' aria module adds a generated description of the data.
 */
export function Chart({
  option,
  label,
  height = 280,
  renderer = 'canvas',
}: {
  option: EChartsCoreOption;
  label: string;
  height?: number;
  /** SVG for maps: each area stays an element of the page, crisp at any zoom and countable in tests. */
  renderer?: 'canvas' | 'svg';
}) {
  const ref = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const instance = echarts.init(element, undefined, { renderer });
    chart.current = instance;
    // Drawn, animation included: what a screenshot (or a test) can wait for.
    instance.on('finished', () => {
      element.dataset.chartState = 'drawn';
    });
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(element);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, [renderer]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new renderer is a new instance, which needs the option again
  useEffect(() => {
    if (ref.current) ref.current.dataset.chartState = 'drawing';
    chart.current?.setOption({ aria: { enabled: true }, animationDuration: 300, ...option }, true);
  }, [option, renderer]);

  return <div ref={ref} role="img" aria-label={label} style={{ width: '100%', height }} />;
}
